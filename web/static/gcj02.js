// GCJ-02 ("Mars coordinates"): the obfuscated datum Chinese map providers
// (AMap, Tencent…) draw their tiles in. Positions in Zhongdui are WGS-84
// everywhere (API, database, GPS); a map over GCJ-02 tiles shifts each point
// it draws with `toGcj` and each point picked on it back with `toWgs`.
// The forward transform is the published one (Krasovsky 1940 ellipsoid);
// outside mainland China's bounding box both are the identity, as the
// providers' own maps are. `toWgs` inverts it by fixed-point iteration to
// well under a millimetre (the one-step inverse is off by up to ~2 m).
// Exposed as `ZD_GCJ` on the page (zd.js makes it `ZD.gcj`) and on
// `globalThis` elsewhere, so node can test it without a browser.
(function (root) {
  "use strict";
  const A = 6378245.0; // Krasovsky 1940 semi-major axis, metres
  const EE = 0.00669342162296594323; // its first eccentricity squared
  const PI = Math.PI;

  // The bounding box the transform is applied in (the usual one: mainland
  // China with Taiwan and the sea around; Tokyo and Seoul's east are out).
  const outOfChina = (lat, lon) => lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;

  function shiftLat(x, y) {
    let r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    r += (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0;
    r += (20.0 * Math.sin(y * PI) + 40.0 * Math.sin(y / 3.0 * PI)) * 2.0 / 3.0;
    r += (160.0 * Math.sin(y / 12.0 * PI) + 320.0 * Math.sin(y * PI / 30.0)) * 2.0 / 3.0;
    return r;
  }
  function shiftLon(x, y) {
    let r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    r += (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0;
    r += (20.0 * Math.sin(x * PI) + 40.0 * Math.sin(x / 3.0 * PI)) * 2.0 / 3.0;
    r += (150.0 * Math.sin(x / 12.0 * PI) + 300.0 * Math.sin(x / 30.0 * PI)) * 2.0 / 3.0;
    return r;
  }

  // WGS-84 -> GCJ-02, as [lat, lon].
  function toGcj(lat, lon) {
    if (outOfChina(lat, lon)) return [lat, lon];
    const x = lon - 105.0, y = lat - 35.0;
    const rad = lat / 180.0 * PI;
    const magic = 1 - EE * Math.sin(rad) * Math.sin(rad);
    const sqrtMagic = Math.sqrt(magic);
    const dLat = (shiftLat(x, y) * 180.0) / ((A * (1 - EE)) / (magic * sqrtMagic) * PI);
    const dLon = (shiftLon(x, y) * 180.0) / (A / sqrtMagic * Math.cos(rad) * PI);
    return [lat + dLat, lon + dLon];
  }

  // GCJ-02 -> WGS-84, as [lat, lon]: the WGS-84 point whose GCJ-02 image is
  // the one given (the shift changes slowly, so each step gains ~5 digits).
  function toWgs(lat, lon) {
    if (outOfChina(lat, lon)) return [lat, lon];
    let wLat = lat, wLon = lon;
    for (let i = 0; i < 10; i++) {
      const [gLat, gLon] = toGcj(wLat, wLon);
      const eLat = lat - gLat, eLon = lon - gLon;
      wLat += eLat; wLon += eLon;
      if (Math.abs(eLat) < 1e-10 && Math.abs(eLon) < 1e-10) break;
    }
    return [wLat, wLon];
  }

  const api = { toGcj, toWgs, outOfChina };
  root.ZD_GCJ = api;
})(typeof window !== "undefined" ? window : globalThis);
