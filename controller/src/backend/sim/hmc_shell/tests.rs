use super::*;
use crate::backend::sim::{self, Clock};

fn shell() -> HmcShell {
    let state = sim::build(None, 0).expect("the lab builds");
    HmcShell::new(Simulator::new(state, None, Clock::new(0.0)), None)
}

/// seeds: ams-dual-vios-and-lpm.txt, Listing 2: `lshwres -r mem -m SYS --level lpar --filter
/// "lpar_names=lpar_6_sotchax11" -F curr_paging_vios_name` answers `lpar_1_solchio05`.
#[tokio::test]
async fn the_seeds_paging_listing() {
    let out = shell()
        .run(r#"lshwres -r mem -m IBM_MMA_P6_102615A_SOLCHMS05 --level lpar --filter "lpar_names=lpar_6_sotchax11" -F curr_paging_vios_name"#)
        .await;
    assert_eq!((out.stdout.as_str(), out.code), ("lpar_1_solchio05\n", 0), "{out:?}");
}

#[tokio::test]
async fn the_restricted_shell_runs_hmc_commands_only() {
    let out = shell().run("rm -rf /; echo \"done $?\"").await;
    assert_eq!(out.stdout, "done 127\n");
    assert!(out.stderr.contains("rm: command not found"), "{out:?}");
    let out = shell().run("lssyscfg -r lpar -m nosuch -F name").await;
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("nosuch could not be found"), "{out:?}");
}
