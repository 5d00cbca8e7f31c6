// The rating page: asks the server for the participant's current item, shows it, sends the rating.
// Everything that matters (who the participant is, the order, what was rated) lives on the server, so a reload
// simply asks again and resumes. Nothing here knows which method made an image.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const ZOOMS = [0.25, 0.5, 1, 2, 3, 4, 6, 8];
  let state = null;    // the last state from the server
  let busy = true;     // true while an image loads or a rating is on its way: no input taken
  let zoom = null;     // null: fit to the viewer; else one of ZOOMS, kept from image to image

  async function api(method, path, body) {
    const options = { method, credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(path, options);
    let data = null;
    try { data = await response.json(); } catch (e) { /* not JSON: reported by status */ }
    return { status: response.status, data };
  }

  function show(id) {
    for (const section of ["loading", "intro", "rate", "done", "failed"]) $(section).hidden = section !== id;
  }

  function fail(reason) {
    busy = true;
    $("failed-reason").textContent = reason;
    show("failed");
  }

  function setBusy(value) {
    busy = value;
    for (const button of document.querySelectorAll("#scale button")) button.disabled = value;
  }

  function render(s) {
    state = s;
    $("bar").hidden = !s.started;
    if (!s.started) {
      $("intro-total").textContent = String(s.total);
      show("intro");
      busy = false;
      $("start").focus();
      return;
    }
    $("bar").max = s.total;
    $("bar").value = s.rated;
    if (s.done) {
      $("progress").textContent = `${s.total} / ${s.total}`;
      show("done");
      busy = true;
      return;
    }
    $("progress").textContent = `${s.rated + 1} / ${s.total}`;
    $("status").textContent = "";
    show("rate");
    setBusy(true);
    const img = $("stimulus");
    img.classList.add("pending");  // a grey field until the new image is there, never the previous one
    img.onload = () => { applyZoom(); img.classList.remove("pending"); setBusy(false); };
    img.onerror = () => fail("The image could not be loaded.");
    img.src = s.image;
  }

  async function refresh() {
    try {
      const r = await api("GET", "/api/state");
      if (r.status !== 200) return fail(`The server answered ${r.status}.`);
      render(r.data);
    } catch (e) {
      fail("The server cannot be reached.");
    }
  }

  async function start() {
    if (busy || !state || state.started) return;
    busy = true;
    try {
      const r = await api("POST", "/api/start", {});
      if (r.status !== 200) return fail((r.data && r.data.error) || `The server answered ${r.status}.`);
      render(r.data);
    } catch (e) {
      busy = false;
      $("status").textContent = "The server cannot be reached; try again.";
    }
  }

  async function rate(value) {
    if (busy || !state || !state.item) return;
    setBusy(true);
    $("status").textContent = `Saving ${value}…`;
    let r;
    try {
      r = await api("POST", "/api/rate", {
        item: state.item, rating: value, viewport_w: window.innerWidth, viewport_h: window.innerHeight,
      });
    } catch (e) {
      $("status").textContent = "Not saved: the server cannot be reached. Rate again.";
      setBusy(false);
      return;
    }
    if (r.status === 200) return render(r.data);
    if (r.status === 409) return refresh();  // rated elsewhere (another tab): show the current item
    fail((r.data && r.data.error) || `The server answered ${r.status}.`);
  }

  // -- zoom: integer factors stay pixel-exact (image-rendering: pixelated); below 1 the browser smooths.

  function fitZoom() {
    const img = $("stimulus"), viewer = $("viewer");
    const room = Math.min(viewer.clientWidth / img.naturalWidth, viewer.clientHeight / img.naturalHeight);
    const fitting = ZOOMS.filter((z) => z <= room);
    return fitting.length ? fitting[fitting.length - 1] : ZOOMS[0];
  }

  function applyZoom() {
    const img = $("stimulus");
    if (!img.naturalWidth) return;
    const z = zoom === null ? fitZoom() : zoom;
    img.style.width = `${img.naturalWidth * z}px`;
    img.style.height = `${img.naturalHeight * z}px`;
    img.classList.toggle("smooth", z < 1);
    $("zoom-level").textContent = `${zoom === null ? "fit " : ""}${z * 100}%`;
  }

  function stepZoom(direction) {
    const current = zoom === null ? fitZoom() : zoom;
    const i = ZOOMS.indexOf(current) + direction;
    if (i >= 0 && i < ZOOMS.length) zoom = ZOOMS[i];
    applyZoom();
  }

  function setupZoomAndPan() {
    $("zoom-in").addEventListener("click", () => stepZoom(+1));
    $("zoom-out").addEventListener("click", () => stepZoom(-1));
    $("zoom-fit").addEventListener("click", () => { zoom = null; applyZoom(); });
    const viewer = $("viewer");
    viewer.addEventListener("wheel", (e) => { e.preventDefault(); stepZoom(e.deltaY < 0 ? +1 : -1); },
                            { passive: false });
    let drag = null;
    viewer.addEventListener("mousedown", (e) => {
      drag = { x: e.clientX, y: e.clientY, left: viewer.scrollLeft, top: viewer.scrollTop };
      viewer.classList.add("dragging");
    });
    window.addEventListener("mousemove", (e) => {
      if (!drag) return;
      viewer.scrollLeft = drag.left - (e.clientX - drag.x);
      viewer.scrollTop = drag.top - (e.clientY - drag.y);
    });
    window.addEventListener("mouseup", () => { drag = null; viewer.classList.remove("dragging"); });
    window.addEventListener("resize", applyZoom);
  }

  function setupInput() {
    for (const button of document.querySelectorAll("#scale button")) {
      button.addEventListener("click", () => rate(Number(button.dataset.rating)));
    }
    $("start").addEventListener("click", start);
    document.addEventListener("keydown", (e) => {
      if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
      if (!$("rate").hidden) {
        if (e.key >= "1" && e.key <= "5") { e.preventDefault(); rate(Number(e.key)); }
        else if (e.key === "+" || e.key === "=") { e.preventDefault(); stepZoom(+1); }
        else if (e.key === "-") { e.preventDefault(); stepZoom(-1); }
        else if (e.key === "0") { e.preventDefault(); zoom = null; applyZoom(); }
      }
    });
  }

  setupZoomAndPan();
  setupInput();
  refresh();
})();
