// Keeps the element marked data-live up to date: fetches its fresh HTML from
// the URL it names once a second, so an open shows up on the dashboard as it
// happens. No framework: the server renders the fragment.
(function () {
  "use strict";
  const region = document.querySelector("[data-live]");
  if (!region) return;
  const url = region.getAttribute("data-live");
  let last = null;
  let busy = false;

  async function refresh() {
    if (busy || document.hidden) return;
    busy = true;
    try {
      const response = await fetch(url, { cache: "no-store", headers: { Accept: "text/html" } });
      if (response.ok) {
        const html = await response.text();
        if (html !== last) {
          last = html;
          region.innerHTML = html;
        }
        document.body.dataset.liveUpdatedAt = String(Date.now());
      }
    } catch (error) {
      // The server is restarting or gone; try again on the next tick.
    } finally {
      busy = false;
    }
  }

  setInterval(refresh, 1000);
})();
