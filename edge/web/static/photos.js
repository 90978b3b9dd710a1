// ID-card photos: a preview, and a photo too large in bytes or pixels is scaled down and
// re-encoded as JPEG in the browser before upload (the seed's advice: 压缩图片), never below the
// minimum resolution. The edge checks every photo again; this only spares a phone's slow upload
// and a refusal. Re-encoding through a canvas also drops the photo's metadata (GPS).
(() => {
  "use strict";
  const MAX_SIDE = 2400;
  const QUALITIES = [0.92, 0.85, 0.75, 0.65];

  const mb = (bytes) => `${(bytes / 1048576).toFixed(1)}MB`;

  const toBlob = (canvas, quality) =>
    new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));

  async function shrink(bitmap, limits) {
    const long = Math.max(bitmap.width, bitmap.height);
    const short = Math.min(bitmap.width, bitmap.height);
    const floor = Math.max(limits.minWidth / long, limits.minHeight / short);
    let scale = Math.min(1, MAX_SIDE / long, Math.sqrt(limits.maxPixels / (bitmap.width * bitmap.height)));
    for (;;) {
      const canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      for (const quality of QUALITIES) {
        const blob = await toBlob(canvas, quality);
        if (blob && blob.size <= limits.maxBytes) return blob;
      }
      if (scale <= floor) return null;
      scale = Math.max(floor, scale * 0.8);
    }
  }

  async function prepare(input) {
    const file = input.files && input.files[0];
    const status = document.getElementById(input.dataset.status);
    const preview = document.getElementById(input.dataset.preview);
    if (!file) return;
    const limits = {
      maxBytes: Number(input.dataset.maxBytes),
      maxPixels: Number(input.dataset.maxPixels),
      minWidth: Number(input.dataset.minWidth),
      minHeight: Number(input.dataset.minHeight),
    };
    let bitmap;
    try {
      bitmap = await createImageBitmap(file); // applies the photo's EXIF orientation
    } catch (error) {
      // Not an image this browser reads (e.g. HEIC): the edge says what to do.
      input.dispatchEvent(new CustomEvent("photo-ready", { bubbles: true }));
      return;
    }
    let chosen = file;
    const pixels = bitmap.width * bitmap.height;
    if (file.size > limits.maxBytes || pixels > limits.maxPixels ||
        Math.max(bitmap.width, bitmap.height) > MAX_SIDE) {
      status.textContent = "照片较大,正在压缩…";
      const blob = await shrink(bitmap, limits);
      if (blob) {
        const name = file.name.replace(/\.[^.]*$/, "") + ".jpg";
        chosen = new File([blob], name, { type: "image/jpeg" });
        const transfer = new DataTransfer();
        transfer.items.add(chosen);
        input.files = transfer.files;
        status.textContent = `照片已压缩:${mb(file.size)} → ${mb(chosen.size)}`;
      } else {
        status.textContent = "照片无法压缩到规定大小,请重新拍摄。";
      }
    } else {
      status.textContent = "";
    }
    bitmap.close();
    if (preview) {
      if (preview.src) URL.revokeObjectURL(preview.src);
      preview.src = URL.createObjectURL(chosen);
      preview.hidden = false;
    }
    input.dispatchEvent(new CustomEvent("photo-ready", { bubbles: true }));
  }

  document.addEventListener("change", (event) => {
    if (event.target.matches("input[type=file][data-photo]")) {
      prepare(event.target);
    }
  });
})();
