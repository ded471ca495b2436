//! The emulated HMC as the HMC backend's [`Transport`]: scripts run in this process, against
//! the simulator, with what a real HMC's restricted shell prints. The HMC backend is tested
//! through it and `sim hmc-shell` behind an sshd serves the same; the backend itself never
//! names the simulator.

use super::HmcShell;
use crate::backend::BackendError;
use crate::backend::hmc::transport::{ShellOutput, Transport};

/// The emulated HMC in this process: the simulator behind an [`HmcShell`].
pub struct Local(pub HmcShell);

impl Transport for Local {
    async fn run(&self, script: &str) -> Result<ShellOutput, BackendError> {
        Ok(self.0.run(script).await)
    }
    fn describe(&self) -> String {
        "the in-process HMC emulator".into()
    }
    fn sessions(&self) -> usize {
        // In process a session costs nothing: every VIOS is asked at once.
        usize::MAX
    }
    fn console(&self) -> Option<(powerplane_model::HmcAddress, Option<powerplane_model::HmcUser>)> {
        let user = powerplane_model::HmcUser::new(crate::sim::consoles::DEFAULT_USER).ok();
        self.0.console().map(|c| (c.clone(), user))
    }
}
