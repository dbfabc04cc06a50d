// Distances on the phone, as app/domain/geo.py computes them on the server.
const EARTH_RADIUS_M = 6371008.8;

export function distanceM(lat1, lon1, lat2, lon2) {
  const rad = Math.PI / 180;
  const p1 = lat1 * rad, p2 = lat2 * rad, dp = (lat2 - lat1) * rad, dl = (lon2 - lon1) * rad;
  const a = Math.pow(Math.sin(dp / 2), 2) + Math.cos(p1) * Math.cos(p2) * Math.pow(Math.sin(dl / 2), 2);
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)));
}

// Metres from the task's borrower's home to a position; null when either is unknown.
export function homeDistance(task, pos) {
  const home = task && task.borrower && task.borrower.home;
  if (!pos || !home || home.lat === null || home.lat === undefined || home.lon === null || home.lon === undefined) return null;
  return distanceM(pos.lat, pos.lon, home.lat, home.lon);
}
