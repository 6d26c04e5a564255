// The painter's live canvas in a browser (an OBS browser source): the picture the painter draws, at its own
// size (96 x 96), scaled by the page's CSS with crisp pixels on a transparent background.
// One script for every page that shows it: the painter's own /live and the gateway's /widget/painter. The
// canvas element names its frame stream (data-stream); a token in the page's own URL is passed on to it.
// Each "frame" event is a LiveFrame (ovation_contracts.painter): {key, w, h, rgb} with rgb the pixels row by
// row, base64; {key: null} when nothing is on stage; {key, error} for a picture that cannot be drawn.
"use strict";
(function () {
  const RETRY_MS = 2000;
  const canvas = document.getElementById("canvas");
  const context = canvas.getContext("2d");
  const token = new URLSearchParams(location.search).get("token");
  let url = canvas.dataset.stream || "/live/frames";
  if (token) url += (url.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token);

  function show(frame) {
    canvas.dataset.key = frame.key || "";
    if (!frame.key || !frame.rgb) {
      context.clearRect(0, 0, canvas.width, canvas.height);
      return;
    }
    if (canvas.width !== frame.w || canvas.height !== frame.h) {
      canvas.width = frame.w;
      canvas.height = frame.h;
    }
    const rgb = atob(frame.rgb);
    const image = context.createImageData(frame.w, frame.h);
    for (let source = 0, target = 0; source < rgb.length; source += 3, target += 4) {
      image.data[target] = rgb.charCodeAt(source);
      image.data[target + 1] = rgb.charCodeAt(source + 1);
      image.data[target + 2] = rgb.charCodeAt(source + 2);
      image.data[target + 3] = 255;
    }
    context.putImageData(image, 0, 0);
    canvas.dataset.frames = String(Number(canvas.dataset.frames || "0") + 1);
  }

  function connect() {
    const events = new EventSource(url);
    events.addEventListener("open", () => { canvas.dataset.connected = "true"; });
    events.addEventListener("frame", (event) => show(JSON.parse(event.data)));
    events.addEventListener("error", () => {
      canvas.dataset.connected = "false";
      // EventSource retries a dropped connection by itself but gives up after an HTTP error (a server that
      // is restarting, a proxy's 502): then start over, for as long as the page is open
      if (events.readyState === EventSource.CLOSED) setTimeout(connect, RETRY_MS);
    });
  }
  connect();
})();
