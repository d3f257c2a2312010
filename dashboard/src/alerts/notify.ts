// The browser's notifications (the Notification API), used when the user allowed them: a trigger
// that arrives while the page is hidden (another tab, a minimised window) is shown by the system
// too; a visible page has its toast.
import type { NotifyPermission } from "../state/alerts";

export interface Notifier {
  permission(): NotifyPermission;
  /** Ask the user (from a click: browsers ignore a request without one); the answer. */
  request(): Promise<NotifyPermission>;
  /** Show a notification when allowed and the page is hidden; `tag` replaces one of the same tag. */
  show(title: string, body: string, tag: string): void;
}

export const noNotifier: Notifier = {
  permission: () => "unsupported",
  request: () => Promise.resolve("unsupported"),
  show: () => {},
};

export function browserNotifier(): Notifier {
  if (typeof Notification === "undefined") return noNotifier;
  return {
    permission: () => Notification.permission,
    request: () => Notification.requestPermission(),
    show: (title, body, tag) => {
      if (Notification.permission !== "granted" || document.visibilityState !== "hidden") return;
      try {
        new Notification(title, { body, tag });
      } catch {
        /* some browsers allow notifications only from a service worker: the toast stays */
      }
    },
  };
}
