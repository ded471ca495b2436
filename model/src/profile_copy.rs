//! VCS's same-name profile procedure: InfoScale keeps an inactive LPAR with a managed LPAR's
//! name (its profile) on every managed system of the LPAR resource's system list, and "LPM
//! validation fails if it finds the profile with same LPAR name on the destination managed
//! physical system". The procedure: back up the profile on the source, rename the same-name
//! LPAR on the destination, migrate; on success restore the profile on the source from the
//! backup and remove the renamed LPAR on the destination; on failure rename it back.
//! seeds: infoscale-lpm-vcs.txt, lines 111-120.
//!
//! The renamed copy is `NAME_vcs` ([`set_aside_name`]): deterministic, so that a later
//! observation recognises it (a move that failed after the rename is retried, or the copy is
//! renamed back when the move is no longer wanted).

use crate::names::PartitionName;

/// What the procedure appends to a copy's name while the partition moves onto its frame.
pub const SUFFIX: &str = "_vcs";

/// The HMC's longest partition name (IBM's `mksyscfg` man page: a partition name is at most
/// 47 characters; [`PartitionName`] holds the same limit).
const MAX_LEN: usize = 47;

/// The name the destination's same-name copy of `name` takes during the procedure: `name`
/// followed by [`SUFFIX`], `name` shortened (on a character boundary) so that the whole fits
/// the HMC's 47 characters.
pub fn set_aside_name(name: &PartitionName) -> PartitionName {
    let mut base = name.as_str().to_owned();
    while base.len() + SUFFIX.len() > MAX_LEN {
        base.pop();
    }
    PartitionName::new(format!("{}{SUFFIX}", base.trim_end())).expect("a shortened valid name with a suffix is valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_set_aside_name_has_the_suffix_and_fits_the_hmc() {
        let short = PartitionName::new("xray").unwrap();
        assert_eq!(set_aside_name(&short).as_str(), "xray_vcs");
        let long = PartitionName::new("y".repeat(47)).unwrap();
        let aside = set_aside_name(&long);
        assert_eq!(aside.as_str().len(), 47);
        assert!(aside.as_str().ends_with("_vcs"));
        // A short name's set-aside name is another name; a 47-character one ending in the
        // suffix is its own (the HMC backend takes a listed name as set aside only when another
        // listed name maps to it).
        assert_ne!(set_aside_name(&set_aside_name(&short)), set_aside_name(&short));
        assert_eq!(set_aside_name(&aside), aside);
    }
}
