// The WGS-84 <-> GCJ-02 conversion the maps use over Chinese tiles
// (static/gcj02.js), checked without a browser against published pairs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import vm from "node:vm";

// The page script as a browser would run it, in a context of its own.
const sandbox = {};
vm.createContext(sandbox);
vm.runInContext(readFileSync(new URL("../static/gcj02.js", import.meta.url), "utf8"), sandbox, { filename: "gcj02.js" });
// Arrays made in that context have its Array prototype: copied into this one's.
const toGcj = (lat, lon) => [...sandbox.ZD_GCJ.toGcj(lat, lon)];
const toWgs = (lat, lon) => [...sandbox.ZD_GCJ.toWgs(lat, lon)];

// Metres between two [lat, lon] points (haversine, mean Earth radius).
function metres([lat1, lon1], [lat2, lon2]) {
  const r = (d) => (d * Math.PI) / 180;
  const a = Math.sin(r(lat2 - lat1) / 2) ** 2 + Math.cos(r(lat1)) * Math.cos(r(lat2)) * Math.sin(r(lon2 - lon1) / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.sqrt(a));
}
const near = (got, want, m, what) => {
  const d = metres(got, want);
  assert.ok(d <= m, `${what}: ${got.join(", ")} is ${d.toFixed(3)} m from ${want.join(", ")} (at most ${m} m)`);
};

// Published WGS-84 -> GCJ-02 pairs, [wgsLat, wgsLon, gcjLat, gcjLon]:
// - googollee/eviltransform, javascript/test.js (Shanghai, Shenzhen, Beijing);
// - wandergis/coordtransform, README.md: wgs84togcj02(116.404, 39.915)
//   = [116.41024449916938, 39.91640428150164] (there as lon, lat).
const PUBLISHED = [
  ["Shanghai (eviltransform)", 31.1774276, 121.5272106, 31.17530398364597, 121.531541859215],
  ["Shenzhen (eviltransform)", 22.543847, 113.912316, 22.540796131694766, 113.9171764808363],
  ["Beijing (eviltransform)", 39.911954, 116.377817, 39.91334545536069, 116.38404722455657],
  ["Beijing (coordtransform README)", 39.915, 116.404, 39.91640428150164, 116.41024449916938],
];

test("WGS-84 -> GCJ-02 matches the published pairs", () => {
  for (const [what, lat, lon, gLat, gLon] of PUBLISHED) near(toGcj(lat, lon), [gLat, gLon], 0.5, what);
});

test("Tiananmen: WGS-84 (39.908823, 116.397470) shows at GCJ-02 ≈ (39.91023, 116.40372)", () => {
  // The commonly quoted pair, to five decimals (±1 m): a 10 m tolerance.
  const got = toGcj(39.908823, 116.39747);
  near(got, [39.91023, 116.40372], 10, "Tiananmen");
  // …and the shift itself is the familiar ~ 550 m to the north-east.
  const shift = metres([39.908823, 116.39747], got);
  assert.ok(shift > 450 && shift < 650, `shifted ${shift.toFixed(0)} m`);
});

test("GCJ-02 -> WGS-84 recovers the published WGS-84 points within 0.5 m", () => {
  for (const [what, lat, lon, gLat, gLon] of PUBLISHED) near(toWgs(gLat, gLon), [lat, lon], 0.5, what);
});

test("outside China both ways are the identity", () => {
  for (const [what, lat, lon] of [["Tokyo", 35.6895, 139.6917], ["London", 51.5074, -0.1278], ["New York", 40.7128, -74.006], ["Sydney", -33.8688, 151.2093]]) {
    assert.deepEqual(toGcj(lat, lon), [lat, lon], what);
    assert.deepEqual(toWgs(lat, lon), [lat, lon], what);
  }
});

test("round trip toWgs(toGcj(p)) within 0.5 m over a grid across China", () => {
  let worst = 0, n = 0;
  for (let lat = 18.5; lat <= 53.5; lat += 0.5) {
    for (let lon = 73.5; lon <= 134.5; lon += 0.5) {
      const back = toWgs(...toGcj(lat, lon));
      const d = metres(back, [lat, lon]);
      worst = Math.max(worst, d);
      n += 1;
      assert.ok(d < 0.5, `(${lat}, ${lon}) came back ${d.toFixed(4)} m away`);
    }
  }
  assert.ok(n > 8000, `${n} points`);
  assert.ok(worst < 0.01, `worst round trip ${worst} m`);
});

test("the project's own area (Wenzhou / Rui'an) shifts by a few hundred metres, and back", () => {
  const wgs = [27.57, 120.56];
  const gcj = toGcj(...wgs);
  const shift = metres(wgs, gcj);
  assert.ok(shift > 200 && shift < 800, `shifted ${shift.toFixed(0)} m`);
  near(toWgs(...gcj), wgs, 0.01, "round trip");
});
