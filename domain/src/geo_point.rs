use geo::{Distance, Haversine, Point};
use serde::{Deserialize, Serialize};
use validator::ValidateRange;

use crate::DomainError;

/// A WGS-84 position. Latitude is in −90..=90 and longitude in −180..=180,
/// both finite: a `GeoPoint` that exists is a place on Earth.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawPoint", into = "RawPoint")]
pub struct GeoPoint {
    lat: f64,
    lon: f64,
}

#[derive(Serialize, Deserialize)]
struct RawPoint {
    lat: f64,
    lon: f64,
}

impl TryFrom<RawPoint> for GeoPoint {
    type Error = DomainError;
    fn try_from(r: RawPoint) -> Result<Self, Self::Error> {
        GeoPoint::parse(r.lat, r.lon)
    }
}

impl From<GeoPoint> for RawPoint {
    fn from(p: GeoPoint) -> Self {
        RawPoint {
            lat: p.lat,
            lon: p.lon,
        }
    }
}

impl GeoPoint {
    /// Parses a latitude/longitude pair in degrees.
    ///
    /// ```
    /// use zhongdui_domain::GeoPoint;
    /// assert!(GeoPoint::parse(27.55, 120.55).is_ok());
    /// assert_eq!(GeoPoint::parse(95.0, 120.0).unwrap_err().field, "lat");
    /// assert_eq!(GeoPoint::parse(27.0, f64::NAN).unwrap_err().field, "lon");
    /// ```
    pub fn parse(lat: f64, lon: f64) -> Result<Self, DomainError> {
        if !lat.is_finite() || !lat.validate_range(Some(-90.0), Some(90.0), None, None) {
            return Err(DomainError::new(
                "lat",
                crate::text::phrases::LAT_RANGE.with("value", lat.to_string()),
            ));
        }
        if !lon.is_finite() || !lon.validate_range(Some(-180.0), Some(180.0), None, None) {
            return Err(DomainError::new(
                "lon",
                crate::text::phrases::LON_RANGE.with("value", lon.to_string()),
            ));
        }
        Ok(Self { lat, lon })
    }

    /// Latitude in degrees.
    pub fn lat(&self) -> f64 {
        self.lat
    }

    /// Longitude in degrees.
    pub fn lon(&self) -> f64 {
        self.lon
    }

    /// The position as a `geo` point (x = longitude, y = latitude).
    pub fn to_point(&self) -> Point<f64> {
        Point::new(self.lon, self.lat)
    }

    /// Great-circle (haversine) distance to `other`, in metres.
    ///
    /// ```
    /// use zhongdui_domain::GeoPoint;
    /// let a = GeoPoint::parse(27.55, 120.55).unwrap();
    /// let b = GeoPoint::parse(27.56, 120.55).unwrap();
    /// let d = a.distance_m(&b);
    /// assert!((d - 1112.0).abs() < 2.0, "{d}");
    /// ```
    pub fn distance_m(&self, other: &GeoPoint) -> f64 {
        Haversine.distance(self.to_point(), other.to_point())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn boundaries_are_inclusive() {
        assert!(GeoPoint::parse(90.0, 180.0).is_ok());
        assert!(GeoPoint::parse(-90.0, -180.0).is_ok());
        assert_eq!(GeoPoint::parse(90.000001, 0.0).unwrap_err().field, "lat");
        assert_eq!(GeoPoint::parse(0.0, -180.1).unwrap_err().field, "lon");
        assert_eq!(
            GeoPoint::parse(f64::INFINITY, 0.0).unwrap_err().field,
            "lat"
        );
    }

    #[test]
    fn json_is_checked_too() {
        let ok: GeoPoint = serde_json::from_str(r#"{"lat": 27.6, "lon": 120.5}"#).unwrap();
        assert_eq!(ok.lat(), 27.6);
        assert!(serde_json::from_str::<GeoPoint>(r#"{"lat": 91, "lon": 120.5}"#).is_err());
    }

    proptest! {
        #[test]
        fn any_valid_pair_parses_and_distance_is_symmetric(
            lat1 in -90.0f64..=90.0, lon1 in -180.0f64..=180.0,
            lat2 in -90.0f64..=90.0, lon2 in -180.0f64..=180.0,
        ) {
            let a = GeoPoint::parse(lat1, lon1).unwrap();
            let b = GeoPoint::parse(lat2, lon2).unwrap();
            let d1 = a.distance_m(&b);
            let d2 = b.distance_m(&a);
            prop_assert!((0.0..=20_040_000.0).contains(&d1));
            prop_assert!((d1 - d2).abs() < 1e-6);
        }
    }
}
