//! Profile copies: inactive LPARs with a client partition's name and profile on another frame,
//! as VCS keeps them on every frame of an LPAR resource's system list, renamed aside while the
//! partition moves onto their frame, restored on the frame it left, removed. seeds:
//! infoscale-lpm-vcs.txt, lines 111-120; `powerplane_model::profile_copy`.

use powerplane_model::manifest::PartitionSpec;
use powerplane_model::{FrameName, PartitionName, ProfileName};

use super::state::{Profiles, SimFrame, SimPartition};
use crate::backend::BackendError;

/// An inactive copy on `frame` of a partition with `spec`, its profile `profile`.
pub(crate) fn copy(frame: &FrameName, spec: &PartitionSpec, profile: Profiles) -> SimPartition {
    let mut p = SimPartition::defined(frame, spec, profile);
    p.spec.storage.clear();
    p
}

/// Whether `name` is taken on `f`: by a partition (or a migration's shell), a VIOS or a copy.
fn taken(f: &SimFrame, name: &PartitionName) -> bool {
    f.partitions.contains_key(name) || f.copies.contains_key(name) || f.vios.contains_key(name.as_str())
}

/// The refusal of a name already taken: the HMC keeps partition names unique on a managed
/// system (the emulator's wording; the HMC's is not attested: tests/fixtures/hmc/README.md).
fn duplicate(name: &PartitionName) -> BackendError {
    BackendError::refused_plain(format!("A partition named {name} already exists on this managed system."))
}

/// `chsyscfg -r lpar -i "name=X,new_name=Y"` of a copy.
pub(crate) fn rename(f: &mut SimFrame, name: &PartitionName, new_name: &PartitionName) -> Result<String, BackendError> {
    if !f.copies.contains_key(name) {
        if f.copies.contains_key(new_name) {
            return Ok(format!("{name} is already named {new_name}"));
        }
        return Err(BackendError::refused_plain(format!(
            "The partition {name} was not found on this managed system (the simulator renames profile copies only)."
        )));
    }
    if taken(f, new_name) {
        return Err(duplicate(new_name));
    }
    let p = f.copies.remove(name).expect("checked");
    f.copies.insert(new_name.clone(), p);
    Ok(format!("{name} renamed {new_name}"))
}

/// `mksyscfg -r lpar` of a copy of a partition that runs on another frame.
pub(crate) fn restore(
    frame: &FrameName,
    f: &mut SimFrame,
    name: &PartitionName,
    spec: &PartitionSpec,
    profile: &ProfileName,
) -> Result<String, BackendError> {
    if f.copies.get(name).is_some_and(|c| &c.profiles.current == profile) {
        return Ok(format!("{name} already exists"));
    }
    if taken(f, name) {
        return Err(duplicate(name));
    }
    f.copies.insert(name.clone(), copy(frame, spec, Profiles::only(profile.clone())));
    Ok(format!("{name} created"))
}

/// `rmsyscfg -r lpar -n Y` of a copy.
pub(crate) fn remove(f: &mut SimFrame, name: &PartitionName) -> Result<String, BackendError> {
    Ok(match f.copies.remove(name) {
        Some(_) => format!("{name} deleted"),
        None => format!("{name} does not exist"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use powerplane_model::SourceFile;
    use powerplane_model::status::LparState;

    fn f(s: &str) -> FrameName {
        FrameName::new(s).unwrap()
    }

    /// The lab, with bxaix85 (on js22_slot13) copied onto js22_slot14.
    fn lab_with_copy() -> crate::sim::state::SimState {
        let inv = powerplane_model::load_inventory(&[SourceFile::new(
            "inventory.yaml",
            crate::sim::inventory::LAB_INVENTORY,
        )])
        .unwrap();
        let mut s = crate::sim::inventory::realise(inv, 1).unwrap();
        let name = PartitionName::new("bxaix85").unwrap();
        let spec = s.frames[&f("js22_slot13")].partitions[&name].spec.clone();
        let to = f("js22_slot14");
        s.frames
            .get_mut(&to)
            .unwrap()
            .copies
            .insert(name, copy(&to, &spec, Profiles::only(ProfileName::hmc_default())));
        s
    }

    /// The HMC's validation refuses a move onto a frame holding an LPAR of the same name; once
    /// the copy is renamed aside, it passes.
    // seeds: infoscale-lpm-vcs.txt, line 116.
    #[test]
    fn a_move_onto_a_frame_with_a_same_name_copy_is_refused_until_it_is_renamed() {
        let mut s = lab_with_copy();
        let name = PartitionName::new("bxaix85").unwrap();
        let (from, to) = (f("js22_slot13"), f("js22_slot14"));
        let asked = crate::sim::migration::Asked::default();
        let Err(e) = crate::sim::migration::validate(&s, &name, &from, &to, asked) else { panic!("accepted") };
        assert!(e.to_string().contains("A partition named bxaix85 already exists on the destination"), "{e}");
        let aside = powerplane_model::profile_copy::set_aside_name(&name);
        rename(s.frames.get_mut(&to).unwrap(), &name, &aside).unwrap();
        let asked = crate::sim::migration::Asked::default();
        assert!(crate::sim::migration::validate(&s, &name, &from, &to, asked).is_ok());
    }

    #[test]
    fn a_copy_is_renamed_restored_and_removed_and_names_stay_unique() {
        let mut s = lab_with_copy();
        let to = f("js22_slot14");
        let fr = s.frames.get_mut(&to).unwrap();
        let name = PartitionName::new("bxaix85").unwrap();
        let aside = powerplane_model::profile_copy::set_aside_name(&name);
        rename(fr, &name, &aside).unwrap();
        assert!(fr.copies.contains_key(&aside) && !fr.copies.contains_key(&name));
        assert!(rename(fr, &name, &aside).unwrap().contains("already"), "renaming again is done already");
        let spec = fr.copies[&aside].spec.clone();
        restore(&to, fr, &name, &spec, &ProfileName::hmc_default()).unwrap();
        assert_eq!(fr.copies[&name].state, LparState::NotActivated);
        let e = rename(fr, &aside, &name).unwrap_err();
        assert!(e.to_string().contains("already exists"), "{e}");
        remove(fr, &aside).unwrap();
        assert_eq!(fr.copies.keys().collect::<Vec<_>>(), [&name]);
    }
}
