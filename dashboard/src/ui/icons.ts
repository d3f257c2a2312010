// Small inline icons (SVG built here: no file fetched, nothing in the element's text).
const SVG = "http://www.w3.org/2000/svg";

/** A bell with a plus: "create an alert". Decorative: its button carries the label. */
export function bellIcon(): SVGSVGElement {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("width", "14");
  svg.setAttribute("height", "14");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute(
    "d",
    "M8 1.5a4 4 0 0 0-4 4v2.6L2.6 10.5v1h10.8v-1L12 8.1V5.5a4 4 0 0 0-4-4zM6.3 12.5a1.8 1.8 0 0 0 3.4 0z",
  );
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}
