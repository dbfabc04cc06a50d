// The one photo-and-GPS collector of the application form and the visit report: camera files are
// downscaled (Photos.prepare), stored as blobs before the record names them, shown as uncropped
// thumbnails with a delete that asks first; a GPS fix is taken through the Bridge and remembered
// as the officer's last position (the plan's distances).
import { t } from "./i18n.js";
import { banner, button } from "./ui.js";
import { settings } from "./boot.js";
import { askPersistence } from "./persist.js";

// Thumbnails of one form: object URLs of the blobs, revoked at the next render.
export function thumbnails() {
  let urls = [];
  return {
    reset() {
      urls.forEach(URL.revokeObjectURL);
      urls = [];
    },
    // One <figure>: the whole photo (object-fit: contain in a fixed box), its caption, and a
    // delete button (onDelete null: a photo already on the server stays as it is).
    figure(ph, alt, caption, onDelete) {
      const fig = document.createElement("figure");
      fig.className = "thumb";
      fig.dataset.photo = ph.uuid;
      const img = document.createElement("img");
      img.alt = alt;
      Store.getBlob(ph.uuid).then((blob) => {
        if (!blob) return;
        const url = URL.createObjectURL(blob);
        urls.push(url);
        img.src = url;
      });
      const cap = document.createElement("figcaption");
      cap.textContent = caption;
      fig.appendChild(img);
      fig.appendChild(cap);
      if (onDelete) {
        fig.appendChild(button(t("delete"), () => {
          if (confirm(t("confirm_delete_photo"))) onDelete(ph);
        }, "link"));
      }
      return fig;
    },
  };
}

// Prepares and stores the camera's files one after another. ``add(photo)`` records each one
// (it gets {uuid, sha256, size, width, height, taken_at}) and saves; it returns false when the
// form holds as many photos as it may, and the rest are skipped.
export function collectPhotos(files, add, room) {
  banner(t("photo_processing"));
  let chain = Promise.resolve();
  files.forEach((file) => {
    chain = chain.then(() => {
      if (!room()) return;
      return Photos.prepare(file, settings()).then((r) => {
        const uuid = crypto.randomUUID();
        // The blob first: a record never names a photo the phone does not hold.
        return Store.putBlob(uuid, r.blob).then(() => add({
          uuid, sha256: r.sha256, size: r.size, width: r.width, height: r.height, taken_at: new Date().toISOString(),
        }));
      }, () => { banner(t("photo_failed"), "error"); throw new Error("photo"); });
    });
  });
  return chain.then(() => banner(""), () => {}).then(askPersistence);
}

// Frees a deleted photo's blob once ``save`` has stored the record without it.
export function dropPhoto(ph, save) {
  return save().then(() => Store.deleteBlob(ph.uuid));
}

export function rememberPosition(pos) {
  return Store.setMeta("last_position", pos).catch(() => {});
}

// A GPS fix for a form: "finding…" and any error appear in ``info``; resolves to the position or null.
export function takePosition(info) {
  info.textContent = t("gps_waiting");
  return Bridge.getPosition().then((pos) => {
    rememberPosition(pos);
    return pos;
  }, (err) => {
    info.textContent = t("gps_error", { reason: err.message });
    return null;
  });
}
