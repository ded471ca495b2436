//! The `powerplane` command. All the work is in the library; this only hands over the
//! process's arguments and exit code.

fn main() -> std::process::ExitCode {
    powerplane_controller::cli::main()
}
