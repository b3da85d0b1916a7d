use std::process::ExitCode;

fn main() -> ExitCode {
    interestflow::cli::main()
}
