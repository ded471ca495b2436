//! Quantities with their unit in the type: memory in MB, processing units in hundredths of a
//! processor (the HMC's granularity), VLAN ids in the 802.1Q range.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Sub};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An amount of memory in megabytes, as the HMC counts it (`desired_mem`, `pool_mem`).
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct MemoryMb(pub u64);

impl<'de> Deserialize<'de> for MemoryMb {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = MemoryMb;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a whole number of megabytes, like 4096")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<MemoryMb, E> {
                Ok(MemoryMb(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<MemoryMb, E> {
                u64::try_from(v).map(MemoryMb).map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(v), &self))
            }
        }
        d.deserialize_u64(V)
    }
}

impl MemoryMb {
    /// `self - other`, or zero when `other` is larger.
    pub fn saturating_sub(self, other: Self) -> Self {
        MemoryMb(self.0.saturating_sub(other.0))
    }
}

impl Add for MemoryMb {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        MemoryMb(self.0 + o.0)
    }
}

impl AddAssign for MemoryMb {
    fn add_assign(&mut self, o: Self) {
        self.0 += o.0;
    }
}

impl Sub for MemoryMb {
    type Output = Self;
    fn sub(self, o: Self) -> Self {
        MemoryMb(self.0 - o.0)
    }
}

impl Sum for MemoryMb {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        MemoryMb(iter.map(|m| m.0).sum())
    }
}

impl fmt::Display for MemoryMb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} MB", self.0)
    }
}

impl fmt::Debug for MemoryMb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}MB", self.0)
    }
}

/// Processing units in hundredths of a processor: `ProcUnits::from_hundredths(50)` is 0.5 of a
/// processor. Manifests write decimals (`units: 0.5`); more than two decimals is refused, since
/// the HMC cannot express it.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProcUnits(u32);

impl ProcUnits {
    /// From hundredths of a processor.
    pub const fn from_hundredths(h: u32) -> Self {
        ProcUnits(h)
    }

    /// Whole processors.
    pub const fn whole(n: u32) -> Self {
        ProcUnits(n * 100)
    }

    /// In hundredths of a processor.
    pub const fn hundredths(self) -> u32 {
        self.0
    }

    /// As a decimal number of processors.
    pub fn as_f64(self) -> f64 {
        f64::from(self.0) / 100.0
    }

    /// Parses a decimal such as `0.5`; `None` when negative, not finite, too large, or finer
    /// than hundredths.
    pub fn from_decimal(v: f64) -> Option<Self> {
        if !v.is_finite() || v < 0.0 || v > f64::from(u32::MAX) / 100.0 {
            return None;
        }
        let h = (v * 100.0).round();
        ((h - v * 100.0).abs() < 1e-6).then_some(ProcUnits(h as u32))
    }

    /// `self - other`, or zero when `other` is larger.
    pub fn saturating_sub(self, other: Self) -> Self {
        ProcUnits(self.0.saturating_sub(other.0))
    }
}

impl Add for ProcUnits {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        ProcUnits(self.0 + o.0)
    }
}

impl AddAssign for ProcUnits {
    fn add_assign(&mut self, o: Self) {
        self.0 += o.0;
    }
}

impl Sum for ProcUnits {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        ProcUnits(iter.map(|p| p.0).sum())
    }
}

impl fmt::Display for ProcUnits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

impl fmt::Debug for ProcUnits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for ProcUnits {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.as_f64())
    }
}

impl<'de> Deserialize<'de> for ProcUnits {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        ProcUnits::from_decimal(v).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "processing units must be a non-negative decimal with at most two decimals (like 0.5 or 1.25), not {v}"
            ))
        })
    }
}

impl schemars::JsonSchema for ProcUnits {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ProcUnits".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "number",
            "minimum": 0,
            "multipleOf": 0.01,
            "description": "Processing units as a decimal number of processors, at most two decimals."
        })
    }
}

/// An 802.1Q VLAN id, 1 to 4094.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub struct VlanId(u16);

impl VlanId {
    /// Checks the range and wraps the id.
    pub fn new(id: u16) -> Result<Self, String> {
        if (1..=4094).contains(&id) { Ok(VlanId(id)) } else { Err(format!("VLAN id {id} is outside 1..=4094")) }
    }

    /// The numeric id.
    pub fn get(self) -> u16 {
        self.0
    }
}

impl TryFrom<u16> for VlanId {
    type Error = String;
    fn try_from(id: u16) -> Result<Self, String> {
        VlanId::new(id)
    }
}

impl From<VlanId> for u16 {
    fn from(v: VlanId) -> u16 {
        v.0
    }
}

impl fmt::Display for VlanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for VlanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "vlan{}", self.0)
    }
}

impl schemars::JsonSchema for VlanId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "VlanId".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "integer", "minimum": 1, "maximum": 4094})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_units_parse_two_decimals() {
        assert_eq!(ProcUnits::from_decimal(0.5), Some(ProcUnits::from_hundredths(50)));
        assert_eq!(ProcUnits::from_decimal(1.25), Some(ProcUnits::from_hundredths(125)));
        assert_eq!(ProcUnits::from_decimal(16.0), Some(ProcUnits::whole(16)));
        assert_eq!(ProcUnits::from_decimal(0.125), None);
        assert_eq!(ProcUnits::from_decimal(-1.0), None);
        assert_eq!(ProcUnits::from_decimal(f64::NAN), None);
        assert_eq!(ProcUnits::from_hundredths(5).to_string(), "0.05");
    }

    #[test]
    fn proc_units_from_yaml_int_and_float() {
        assert_eq!(serde_yaml::from_str::<ProcUnits>("2").unwrap(), ProcUnits::whole(2));
        assert_eq!(serde_yaml::from_str::<ProcUnits>("0.1").unwrap(), ProcUnits::from_hundredths(10));
        assert!(serde_yaml::from_str::<ProcUnits>("0.001").is_err());
    }

    #[test]
    fn memory_says_what_it_wants() {
        assert_eq!(serde_yaml::from_str::<MemoryMb>("4096").unwrap(), MemoryMb(4096));
        let e = serde_yaml::from_str::<MemoryMb>("lots").unwrap_err().to_string();
        assert!(e.contains("a whole number of megabytes"), "{e}");
        assert!(serde_yaml::from_str::<MemoryMb>("-1").is_err());
        assert!(serde_yaml::from_str::<MemoryMb>("1.5").is_err());
    }

    #[test]
    fn vlan_range() {
        assert!(VlanId::new(0).is_err());
        assert!(VlanId::new(4095).is_err());
        assert!(serde_yaml::from_str::<VlanId>("4094").is_ok());
        assert!(serde_yaml::from_str::<VlanId>("5000").is_err());
    }
}
