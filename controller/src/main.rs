//! The `powerplane` command. All the work is in the library; this only hands over the
//! process's arguments and exit code, on the allocator of [`allocator`].

mod allocator;

fn main() -> std::process::ExitCode {
    allocator::configure();
    powerplane_controller::cli::main()
}
