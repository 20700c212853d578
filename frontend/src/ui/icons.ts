/** Inline SVG icons built with createElementNS (no markup parsing). Paths: Feather-style strokes. */

const PATHS: Record<string, string[]> = {
  edit: ["M12 20h9", "M16.5 3.5a2.1 2.1 0 0 1 3 3L7 19l-4 1 1-4Z"],
  trash: ["M3 6h18", "M8 6V4h8v2", "M19 6l-1 14H6L5 6", "M10 11v6", "M14 11v6"],
  copy: ["M9 9h11v11H9z", "M5 15H4V4h11v1"],
  check: ["M20 6 9 17l-5-5"],
  pause: ["M7 4h3v16H7z", "M14 4h3v16h-3z"],
  play: ["M6 4l14 8-14 8Z"],
  monitor: ["M3 4h18v12H3z", "M8 20h8", "M12 16v4"],
  camera: ["M4 7h3l2-3h6l2 3h3v12H4z", "M12 10a3 3 0 1 0 0 6 3 3 0 0 0 0-6Z"],
  activity: ["M22 12h-4l-3 9L9 3l-3 9H2"],
  log: ["M4 6h16", "M4 12h16", "M4 18h10"],
  send: ["M22 2 11 13", "M22 2l-7 20-4-9-9-4Z"],
  x: ["M18 6 6 18", "M6 6l12 12"],
  chevron: ["M9 6l6 6-6 6"],
  refresh: ["M21 12a9 9 0 1 1-3-6.7L21 8", "M21 3v5h-5"],
};

export type IconName = keyof typeof PATHS;

export function icon(name: IconName, size = 16): SVGSVGElement {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", String(size));
  svg.setAttribute("height", String(size));
  svg.setAttribute("fill", "none");
  svg.setAttribute("stroke", "currentColor");
  svg.setAttribute("stroke-width", "2");
  svg.setAttribute("stroke-linecap", "round");
  svg.setAttribute("stroke-linejoin", "round");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.classList.add("icon");
  for (const d of PATHS[name] ?? []) {
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    svg.appendChild(path);
  }
  return svg;
}
