// Entry point: one store for the page; the login page or the dashboard, switching on its session.
import "./styles.css";
import { startDashboard } from "./app";
import { Auth } from "./auth";
import { parseHash } from "./hash";
import { initialState, type DashState } from "./state/model";
import { reduce } from "./state/reducer";
import { Store } from "./state/store";
import { loginPage } from "./ui/login";

const host = document.getElementById("app")!;
const auth = new Auth();
const store = new Store(reduce, initialState(parseHash(location.hash)));
let stopDashboard: (() => void) | null = null;

const signIn = () => store.dispatch({ type: "signedIn", username: auth.username, selection: parseHash(location.hash) });

function show(state: DashState): void {
  stopDashboard?.();
  stopDashboard = null;
  if (state.session) {
    stopDashboard = startDashboard(host, store, auth);
    document.title = "OptionsFlow";
  } else {
    host.replaceChildren(loginPage(auth, signIn, state.signedOutReason));
    document.title = "Sign in · OptionsFlow";
  }
}

store.subscribe((state, prev) => {
  if (state.session !== prev.session) show(state);
});
auth.onLogout = (reason) => store.dispatch({ type: "signedOut", reason });
if (auth.loggedIn) signIn();
else show(store.state);
