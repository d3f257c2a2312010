// Entry point: the login page or the dashboard, switching on the session.
import "./styles.css";
import { Dashboard } from "./app";
import { Auth } from "./auth";
import { loginPage } from "./ui/login";

const host = document.getElementById("app")!;
const auth = new Auth();
let dashboard: Dashboard | null = null;

function showLogin(notice: string | null): void {
  dashboard?.destroy();
  dashboard = null;
  host.replaceChildren(loginPage(auth, showDashboard, notice));
  document.title = "Sign in · OptionsFlow";
}

function showDashboard(): void {
  dashboard?.destroy();
  dashboard = new Dashboard(host, auth);
  document.title = "OptionsFlow";
  void dashboard.start();
}

auth.onLogout = (reason) => showLogin(reason);
if (auth.loggedIn) showDashboard();
else showLogin(null);
