//! What the HMC backend learns of the estate's HMCs when it lists them: which HMC manages each
//! frame (the one whose `lssyscfg -r sys` lists it), each one's version (`lshmc -V`), the user
//! powerplane works as on it (its `--hmc` address), and whether each one's SSH key is authorized
//! on each other one (`mkauthkeys --ip OTHER --test`, run on it): what a migration between
//! their frames needs (`powerplane_model::console`).
// IBM/ansible-power-hmc @ 0af0a1fb, `plugins/modules/powervm_lpar_migration.py` lines 277-282:
// the test fails with HSCL3653 while the keys are missing; any other failure is not that.

use std::collections::BTreeMap;

use powerplane_model::console::{Console, Consoles, HmcVersion, KeyExchange};
use powerplane_model::{FrameName, HmcAddress, HmcUser};

use super::transport::{CommandOutput, Transport};

/// An HMC's address and user, as its transport says.
pub(crate) type Address = Option<(HmcAddress, Option<HmcUser>)>;

/// For each HMC, the other HMCs (by address) it tests its key on: those with another address.
pub(crate) fn peers(addresses: &[Address]) -> Vec<Vec<HmcAddress>> {
    addresses
        .iter()
        .map(|me| {
            let Some((me, _)) = me else { return Vec::new() };
            let mut others: Vec<HmcAddress> =
                addresses.iter().flatten().map(|(a, _)| a.clone()).filter(|a| a != me).collect();
            others.sort();
            others.dedup();
            others
        })
        .collect()
}

/// The key tests' answers: authorized (exit 0), missing (HSCL3653), or, for any other answer,
/// not known (said in the log: the test could not tell).
pub(crate) fn key_tests<T: Transport>(
    t: &T,
    peers: &[HmcAddress],
    outs: &[CommandOutput],
) -> BTreeMap<HmcAddress, KeyExchange> {
    let mut keys = BTreeMap::new();
    for (peer, o) in peers.iter().zip(outs) {
        let said = format!("{}{}", o.stdout.trim(), o.stderr.trim());
        if o.code == 0 {
            keys.insert(peer.clone(), KeyExchange::Authorized);
        } else if said.contains("HSCL3653") {
            keys.insert(peer.clone(), KeyExchange::Missing { message: said });
        } else {
            tracing::warn!(hmc = %t.describe(), peer = %peer, answer = %said, "`mkauthkeys --test` could not tell whether this HMC may run migration commands on the other");
        }
    }
    keys
}

/// The estate's HMCs from what their listings gave: `managers` (frame to HMC index), their
/// versions and key tests.
pub(crate) fn consoles(
    addresses: &[Address],
    versions: &BTreeMap<usize, String>,
    keys: Vec<BTreeMap<HmcAddress, KeyExchange>>,
    managers: &BTreeMap<FrameName, usize>,
) -> Consoles {
    let mut c = Consoles::default();
    for (f, i) in managers {
        if let Some((a, _)) = &addresses[*i] {
            c.managed_by.insert(f.clone(), a.clone());
        }
    }
    for (i, (a, keys)) in addresses.iter().zip(keys).enumerate() {
        let Some((a, user)) = a else { continue };
        let version = versions.get(&i).and_then(|v| HmcVersion::parse(v).ok());
        let entry = c.hmcs.entry(a.clone()).or_insert_with(Console::default);
        entry.user = entry.user.clone().or_else(|| user.clone());
        entry.version = entry.version.clone().or(version);
        entry.keys.extend(keys);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> HmcAddress {
        HmcAddress::new(s).unwrap()
    }

    /// Two HMCs test each other; two `--hmc` on one host (one HMC, or a test's two ports of
    /// one address) test nothing.
    #[test]
    fn each_hmc_tests_the_others() {
        let u = Some(HmcUser::new("hscroot").unwrap());
        let two = [Some((a("hmc1"), u.clone())), Some((a("hmc2"), u.clone())), None];
        assert_eq!(peers(&two), vec![vec![a("hmc2")], vec![a("hmc1")], vec![]]);
        let same = [Some((a("127.0.0.1"), u.clone())), Some((a("127.0.0.1"), u))];
        assert_eq!(peers(&same), vec![Vec::<HmcAddress>::new(), vec![]]);
    }
}
