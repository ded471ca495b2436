//! The HMCs the simulator models: an inventory may say which HMC manages each frame
//! (`FrameHardware.spec.hmc`), its version and user, and on which other HMCs its SSH key is
//! authorized already. A migration between frames of two HMCs then needs the destination HMC
//! named (`migrlpar --ip HMC -u USER`) and the source HMC's key authorized there
//! (`mkauthkeys -g`), or it is refused with HSCL3653 as the seed shows.
// seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 1504-1518 (`--ip
// [target hmc] -u [remote user]`), lines 1531-1543 (HSCL3653, `mkauthkeys -g --ip hmc-arizona -u
// hscroot`); IBM/ansible-power-hmc `powervm_lpar_migration.py` lines 267-282 (`mkauthkeys --ip
// REMOTE --test` answers HSCL3653 while the keys are missing).

use std::collections::{BTreeMap, BTreeSet};

use powerplane_model::console::{Console, Consoles, HmcVersion, KeyExchange, RemoteHmc};
use powerplane_model::manifest::FrameHardwareSpec;
use powerplane_model::{FrameName, HmcAddress, HmcUser};
use serde::{Deserialize, Serialize};

use super::state::SimState;
use crate::backend::BackendError;

/// The version an HMC has when the inventory does not say: the one whose commands the emulator
/// follows (its `lshmc -V`).
pub(crate) const DEFAULT_VERSION: &str = "V10R3";
/// The user an HMC has when the inventory does not say (the seed's).
pub(crate) const DEFAULT_USER: &str = "hscroot";

/// One modelled HMC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimConsole {
    /// Its version (`lshmc -V`).
    pub version: HmcVersion,
    /// The user migrations from other HMCs name on it (`-u`).
    pub user: HmcUser,
    /// The HMCs and users on which this HMC's SSH key is authorized (`mkauthkeys -g --ip HMC -u
    /// USER` run on it).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub authorized_on: BTreeSet<(HmcAddress, HmcUser)>,
}

/// The HMCs an inventory's frames name; the first frame naming one gives its version and user.
pub(crate) fn from_inventory<'a>(
    frames: impl Iterator<Item = &'a FrameHardwareSpec>,
) -> BTreeMap<HmcAddress, SimConsole> {
    let mut out: BTreeMap<HmcAddress, SimConsole> = BTreeMap::new();
    let mut grants = Vec::new();
    for hw in frames {
        let Some(h) = &hw.hmc else { continue };
        out.entry(h.address.clone()).or_insert_with(|| SimConsole {
            version: h.version.clone().unwrap_or_else(|| HmcVersion::parse(DEFAULT_VERSION).expect("a version")),
            user: h.user.clone().unwrap_or_else(|| HmcUser::new(DEFAULT_USER).expect("a user")),
            authorized_on: BTreeSet::new(),
        });
        grants.extend(h.authorized_on.iter().map(|to| (h.address.clone(), to.clone())));
    }
    // Authorized for the user of the HMC it is authorized on.
    for (from, to) in grants {
        let Some(user) = out.get(&to).map(|c| c.user.clone()) else { continue };
        out.get_mut(&from).expect("inserted").authorized_on.insert((to, user));
    }
    out
}

/// The HMC managing `frame`, when the inventory names one.
pub(crate) fn manager<'s>(s: &'s SimState, frame: &FrameName) -> Option<&'s HmcAddress> {
    s.frames.get(frame).and_then(|f| f.hw.hmc.as_ref()).map(|h| &h.address)
}

/// The address of the one HMC a simulator models when its inventory names none: it manages
/// every frame, at [`DEFAULT_VERSION`] (what the emulator answers `lshmc -V` with), so that a
/// plan made in process spells its commands as one made through the emulator.
pub(crate) const IMPLICIT: &str = "simulated-hmc";

/// What an HMC backend would learn of the HMCs: which manages each frame, their versions and
/// users, and each one's key test on each other one.
pub(crate) fn status(s: &SimState) -> Consoles {
    let mut c = Consoles::default();
    if s.consoles.is_empty() {
        let one = HmcAddress::new(IMPLICIT).expect("a valid address");
        c.managed_by = s.frames.keys().map(|f| (f.clone(), one.clone())).collect();
        c.hmcs.insert(
            one,
            Console {
                user: Some(HmcUser::new(DEFAULT_USER).expect("a user")),
                version: Some(HmcVersion::parse(DEFAULT_VERSION).expect("a version")),
                keys: BTreeMap::new(),
            },
        );
        return c;
    }
    for f in s.frames.keys() {
        if let Some(h) = manager(s, f) {
            c.managed_by.insert(f.clone(), h.clone());
        }
    }
    for (addr, con) in &s.consoles {
        let keys = s
            .consoles
            .iter()
            .filter(|(other, _)| *other != addr)
            .map(|(other, o)| {
                let k = match test(s, addr, other, &o.user) {
                    Ok(()) => KeyExchange::Authorized,
                    Err(e) => KeyExchange::Missing { message: e.to_string() },
                };
                (other.clone(), k)
            })
            .collect();
        c.hmcs.insert(addr.clone(), Console { user: Some(con.user.clone()), version: Some(con.version.clone()), keys });
    }
    c
}

/// HSCL3653 as the seed prints it (powervm-quickstart..., lines 1535-1538).
fn hscl3653(user: &HmcUser) -> BackendError {
    BackendError::Refused {
        code: Some("HSCL3653".into()),
        message: format!(
            "The Secure Shell (SSH) communication configuration between the source and target Hardware Management Consoles has not been set up properly for user {user}. Please run the mkauthkeys command to set up the SSH communication authentication keys."
        ),
    }
}

/// `mkauthkeys --ip TO --test` on `on`: whether its key is authorized on `to` for `user`.
pub(crate) fn test(s: &SimState, on: &HmcAddress, to: &HmcAddress, user: &HmcUser) -> Result<(), BackendError> {
    let Some(c) = s.consoles.get(on) else {
        return Err(BackendError::refused_plain(format!("The HMC {on} is not one the simulator models.")));
    };
    if !s.consoles.contains_key(to) {
        // No HMC answers there: the SSH connection cannot be made.
        return Err(BackendError::refused_plain(format!(
            "The remote host {to} could not be reached to test the SSH authentication."
        )));
    }
    if c.authorized_on.contains(&(to.clone(), user.clone())) { Ok(()) } else { Err(hscl3653(user)) }
}

/// `mkauthkeys -g --ip TO -u USER` on `on`: its key is authorized on `to` for `user`.
pub(crate) fn authorize(
    s: &mut SimState,
    on: &HmcAddress,
    to: &HmcAddress,
    user: &HmcUser,
) -> Result<String, BackendError> {
    if !s.consoles.contains_key(to) {
        return Err(BackendError::refused_plain(format!("The remote host {to} could not be reached.")));
    }
    let c = s
        .consoles
        .get_mut(on)
        .ok_or_else(|| BackendError::refused_plain(format!("The HMC {on} is not one the simulator models.")))?;
    c.authorized_on.insert((to.clone(), user.clone()));
    Ok(String::new())
}

/// Whether the HMC managing `from` may migrate a partition to `to` as `remote` says: one HMC
/// for both (no `--ip`, or `--ip` naming it), or the destination HMC named and the source's
/// key authorized there for the user (`-u`, else the source HMC's own user, as the HMC takes
/// the local user's name). Without modelled HMCs anything goes.
pub(crate) fn check_remote(
    s: &SimState,
    from: &FrameName,
    to: &FrameName,
    remote: Option<&RemoteHmc>,
) -> Result<(), BackendError> {
    let (Some(src), Some(dst)) = (manager(s, from), manager(s, to)) else { return Ok(()) };
    let not_found = || BackendError::refused_plain(format!("The managed system {to} could not be found."));
    match remote {
        None if src == dst => Ok(()),
        None => Err(not_found()),
        Some(r) if &r.ip != dst => Err(not_found()),
        Some(_) if src == dst => Ok(()),
        Some(r) => {
            let user = r.user.clone().unwrap_or_else(|| s.consoles[src].user.clone());
            test(s, src, dst, &user)
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::sim::{LAB_INVENTORY, realise};
    use powerplane_model::SourceFile;

    /// The lab with the second JS22 blade managed by `hmc-b`, the rest by `hmc-a`.
    pub(crate) fn two_hmcs(authorized: bool) -> SimState {
        let grant = if authorized { ", authorizedOn: [hmc-b]" } else { "" };
        let mut out = String::new();
        for doc in LAB_INVENTORY.split("\n---\n") {
            let addr = if doc.contains("name: js22_slot14\n") { "hmc-b" } else { "hmc-a" };
            let doc = if doc.contains("kind: FrameHardware") {
                let extra = if addr == "hmc-a" { grant } else { "" };
                doc.replacen("\nspec:\n", &format!("\nspec:\n  hmc: {{address: {addr}{extra}}}\n"), 1)
            } else {
                doc.to_owned()
            };
            out.push_str(&doc);
            out.push_str("\n---\n");
        }
        let inv = powerplane_model::load_inventory(&[SourceFile::new("i.yaml", out)]).unwrap();
        realise(inv, 7).unwrap()
    }

    fn f(s: &str) -> FrameName {
        FrameName::new(s).unwrap()
    }
    fn a(s: &str) -> HmcAddress {
        HmcAddress::new(s).unwrap()
    }

    /// Each HMC's key test on the other, as an observation reports it.
    #[test]
    fn the_hmcs_and_their_keys_are_reported() {
        let s = two_hmcs(false);
        let c = status(&s);
        assert_eq!(c.manager(&f("js22_slot14")), Some(&a("hmc-b")));
        assert_eq!(c.manager(&f("js22_slot13")), Some(&a("hmc-a")));
        assert_eq!(c.version_for(&f("js22_slot13")).map(ToString::to_string).as_deref(), Some(DEFAULT_VERSION));
        assert!(
            matches!(&c.hmcs[&a("hmc-a")].keys[&a("hmc-b")], KeyExchange::Missing { message } if message.contains("HSCL3653")),
            "{c:?}"
        );
        let granted = status(&two_hmcs(true));
        assert_eq!(granted.hmcs[&a("hmc-a")].keys[&a("hmc-b")], KeyExchange::Authorized);
        assert!(matches!(granted.hmcs[&a("hmc-b")].keys[&a("hmc-a")], KeyExchange::Missing { .. }));
    }

    /// A move to the other HMC's blade needs `--ip` naming it and the keys.
    #[test]
    fn a_move_to_another_hmc_needs_it_named_and_the_keys() {
        let mut s = two_hmcs(false);
        let (from, to) = (f("js22_slot13"), f("js22_slot14"));
        let named = RemoteHmc { ip: a("hmc-b"), user: Some(HmcUser::new("hscroot").unwrap()) };
        let e = check_remote(&s, &from, &to, None).unwrap_err();
        assert!(e.to_string().contains("could not be found"), "{e}");
        let wrong = RemoteHmc { ip: a("hmc-c"), user: None };
        assert!(check_remote(&s, &from, &to, Some(&wrong)).is_err());
        let e = check_remote(&s, &from, &to, Some(&named)).unwrap_err();
        assert!(e.to_string().contains("HSCL3653"), "{e}");
        authorize(&mut s, &a("hmc-a"), &a("hmc-b"), &HmcUser::new("hscroot").unwrap()).unwrap();
        check_remote(&s, &from, &to, Some(&named)).unwrap();
        // Another user on hmc-b is not authorized.
        let other = RemoteHmc { ip: a("hmc-b"), user: Some(HmcUser::new("hscpe").unwrap()) };
        assert!(check_remote(&s, &from, &to, Some(&other)).is_err());
        check_remote(&s, &from, &f("IBM_MMA_P6_102615A_SOLCHMS05"), None).unwrap();
    }
}
