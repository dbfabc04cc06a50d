// Photos are downscaled and re-encoded on the phone before they are stored and sent:
// a 12-megapixel form photo of several MB becomes a few hundred KB that OCR reads as well
// (long edge and quality come from the server, chosen by bench/photo_downscale_ocr.py).
(function (global) {
  "use strict";

  function hex(buffer) {
    var bytes = new Uint8Array(buffer), out = "";
    for (var i = 0; i < bytes.length; i++) out += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
    return out;
  }

  function sha256(blob) {
    return blob.arrayBuffer().then(function (buf) { return crypto.subtle.digest("SHA-256", buf); }).then(hex);
  }

  function encode(bitmap, width, height, quality) {
    if (typeof OffscreenCanvas !== "undefined") {
      var off = new OffscreenCanvas(width, height);
      var ctx = off.getContext("2d");
      ctx.imageSmoothingQuality = "high";
      ctx.drawImage(bitmap, 0, 0, width, height);
      return off.convertToBlob({ type: "image/jpeg", quality: quality });
    }
    var canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    var c2 = canvas.getContext("2d");
    c2.imageSmoothingQuality = "high";
    c2.drawImage(bitmap, 0, 0, width, height);
    return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", quality); });
  }

  // file -> {blob, width, height, size, sha256}; EXIF orientation is applied by the decoder.
  function prepare(file, settings) {
    var longEdge = settings.photo_long_edge || 1600;
    var quality = settings.photo_jpeg_quality || 0.8;
    return createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bitmap) {
      var scale = Math.min(1, longEdge / Math.max(bitmap.width, bitmap.height));
      var w = Math.max(1, Math.round(bitmap.width * scale)), h = Math.max(1, Math.round(bitmap.height * scale));
      return encode(bitmap, w, h, quality).then(function (blob) {
        if (bitmap.close) bitmap.close();
        return sha256(blob).then(function (digest) {
          return { blob: blob, width: w, height: h, size: blob.size, sha256: digest };
        });
      });
    });
  }

  global.Photos = { prepare: prepare, sha256: sha256 };
})(self);
