// The hand-drawn e-signature: strokes on a canvas, sent as a PNG data URL in a hidden field.
// Those who cannot draw type their name instead (the form works without this file).
(() => {
  "use strict";
  document.addEventListener("DOMContentLoaded", () => {
    const pad = document.getElementById("signature-pad");
    if (!pad) return;
    const target = document.getElementById(pad.dataset.target);
    const context = pad.getContext("2d");
    context.lineWidth = 4;
    context.lineCap = "round";
    context.lineJoin = "round";
    context.strokeStyle = "#111";
    let drawing = false;
    let drawn = false;

    const point = (event) => {
      const box = pad.getBoundingClientRect();
      return [
        ((event.clientX - box.left) * pad.width) / box.width,
        ((event.clientY - box.top) * pad.height) / box.height,
      ];
    };
    pad.addEventListener("pointerdown", (event) => {
      drawing = true;
      pad.setPointerCapture(event.pointerId);
      context.beginPath();
      context.moveTo(...point(event));
      event.preventDefault();
    });
    pad.addEventListener("pointermove", (event) => {
      if (!drawing) return;
      context.lineTo(...point(event));
      context.stroke();
      drawn = true;
    });
    const finish = () => {
      if (!drawing) return;
      drawing = false;
      if (drawn) target.value = pad.toDataURL("image/png");
    };
    pad.addEventListener("pointerup", finish);
    pad.addEventListener("pointercancel", finish);
    document.getElementById("clear-signature").addEventListener("click", () => {
      context.clearRect(0, 0, pad.width, pad.height);
      target.value = "";
      drawn = false;
    });
  });
})();
