// Sign in (and create an account) page. Shows the server's error message as given.
import { type Auth, describeError } from "../auth";
import { h } from "./dom";

export function loginPage(auth: Auth, onDone: () => void, notice: string | null = null): HTMLElement {
  let mode: "login" | "register" = "login";
  const username = h("input", {
    id: "login-username",
    name: "username",
    autocomplete: "username",
    required: true,
    minlength: 1,
    maxlength: 32,
    spellcheck: "false",
    autocapitalize: "off",
    "data-testid": "login-username",
  });
  const password = h("input", {
    id: "login-password",
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
    maxlength: 128,
    "data-testid": "login-password",
  });
  const submit = h("button", { type: "submit", class: "primary", "data-testid": "login-submit" }, "Sign in");
  const error = h("div", { class: "form-error", role: "alert", "data-testid": "login-error" });
  const info = h("div", { class: "form-info", role: "status", "data-testid": "login-info" });
  const hint = h("p", { class: "form-hint" });
  const title = h("h1", {}, "Sign in");
  const toggle = h("button", { type: "button", class: "link", "data-testid": "register-toggle" });

  const show = (el: HTMLElement, text: string) => {
    el.textContent = text;
    el.hidden = !text;
  };
  const setMode = (m: typeof mode) => {
    mode = m;
    title.textContent = m === "login" ? "Sign in" : "Create an account";
    submit.textContent = m === "login" ? "Sign in" : "Create account";
    submit.dataset.mode = m;
    password.autocomplete = m === "login" ? "current-password" : "new-password";
    password.minLength = m === "login" ? 1 : 8;
    username.minLength = m === "login" ? 1 : 3;
    hint.textContent = m === "register" ? "3–32 letters, digits, '_', '.' or '-'; password of 8–128 characters." : "";
    hint.hidden = m === "login";
    toggle.textContent = m === "login" ? "No account? Create one" : "Have an account? Sign in";
    show(error, "");
  };
  setMode("login");
  show(info, notice ?? "");

  toggle.addEventListener("click", () => setMode(mode === "login" ? "register" : "login"));

  const form = h(
    "form",
    { class: "login-card", "data-testid": "login-form", novalidate: true },
    h("div", { class: "brand big" }, h("span", { class: "logo" }, "◆"), " OptionsFlow"),
    title,
    info,
    h("label", { for: "login-username" }, "Username"),
    username,
    h("label", { for: "login-password" }, "Password"),
    password,
    hint,
    error,
    submit,
    toggle,
  );
  const send = async (): Promise<void> => {
    show(error, "");
    show(info, "");
    const user = username.value.trim();
    if (!user || !password.value) {
      show(error, "Enter a username and a password.");
      return;
    }
    submit.disabled = true;
    form.setAttribute("aria-busy", "true");
    try {
      if (mode === "register") {
        await auth.register(user, password.value);
        setMode("login");
        show(info, `Account “${user}” created. Signing in…`);
      }
      await auth.login(user, password.value);
      onDone();
    } catch (err) {
      show(error, describeError(err));
      password.select();
    } finally {
      submit.disabled = false;
      form.removeAttribute("aria-busy");
    }
  };
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void send();
  });
  queueMicrotask(() => username.focus());
  return h("main", { class: "login-page" }, form);
}
