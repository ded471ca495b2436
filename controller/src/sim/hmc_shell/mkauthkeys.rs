//! The emulated HMC's `mkauthkeys`, between the HMCs the simulator models:
//! `mkauthkeys --ip HMC --test [-u USER]` tells whether this HMC's SSH key is authorized on
//! another (HSCL3653 when not), `mkauthkeys -g --ip HMC -u USER [--passwd PASSWORD]`
//! authorizes it.
// IBM/ansible-power-hmc @ 0af0a1fb: `plugins/module_utils/hmc_command_stack.py` lines 326-330
// (`-g`, `--ip`, `-u`, `--passwd`, `--test`), `hmc_resource.py` lines 512-522, and
// `powervm_lpar_migration.py` lines 277-282 (the test fails with HSCL3653, then `-g` is run);
// seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 1543-1544
// (`mkauthkeys -g --ip hmc-arizona -u hscroot`, "Enter the password for user hscroot on the
// remote host hmc-arizona"). The emulator asks for no password: it has no way to check one.

use powerplane_model::{HmcAddress, HmcUser};

use super::commands::Opts;
use super::{FAILED, HmcShell};

impl HmcShell {
    /// Runs `mkauthkeys`.
    pub(super) async fn mkauthkeys(&self, words: &[String]) -> (String, String, i32) {
        let fail = |e: String| (String::new(), format!("{e}\n"), FAILED);
        let o = match Opts::parse(words) {
            Ok(o) => o,
            Err(e) => return fail(e),
        };
        let Some(me) = self.console.clone() else {
            return fail(
                "mkauthkeys: this emulated HMC has no address among the simulator's HMCs (start it with --console ADDRESS)"
                    .into(),
            );
        };
        let ip = match o.need("--ip").and_then(|v| HmcAddress::new(v).map_err(|e| e.to_string())) {
            Ok(ip) => ip,
            Err(e) => return fail(e),
        };
        let user = match o.get("-u").map(HmcUser::new).transpose() {
            Ok(u) => u,
            Err(e) => return fail(e.to_string()),
        };
        if o.flag("--test") {
            let r = self
                .sim
                .read(|s| {
                    let user = user.clone().or_else(|| s.consoles.get(&ip).map(|c| c.user.clone()));
                    match user {
                        Some(u) => crate::sim::consoles::test(s, &me, &ip, &u),
                        None => Err(crate::backend::BackendError::refused_plain(format!(
                            "The remote host {ip} could not be reached to test the SSH authentication."
                        ))),
                    }
                })
                .await;
            return match r {
                Ok(()) => (String::new(), String::new(), 0),
                Err(e) => (String::new(), format!("{}\n", super::message(&e)), FAILED),
            };
        }
        if !o.flag("-g") {
            return fail("mkauthkeys: only -g (with --ip and -u) and --test are supported here".into());
        }
        let Some(user) = user else { return fail("mkauthkeys: the -u parameter is required with --ip".into()) };
        match self.sim.authorize_keys(&me, &ip, &user).await {
            Ok(()) => (String::new(), String::new(), 0),
            Err(e) => (String::new(), format!("{}\n", super::message(&e)), FAILED),
        }
    }
}
