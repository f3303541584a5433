//! `ardent passwd`: a users-file line for the scheduler's `--users FILE`.

use std::io::{BufRead, IsTerminal};

use ardent_engine::users::hash_line;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The user name (letters, digits, '.', '_', '-', '@').
    pub user: String,
}

/// Reads the password from the first line of stdin (never from the command line, where other
/// users of the host could see it) and prints `user:<argon2id hash>`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("password for {}: ", args.user);
    }
    let mut password = String::new();
    stdin
        .lock()
        .read_line(&mut password)
        .map_err(|e| anyhow::anyhow!("cannot read the password from stdin: {e}"))?;
    let password = password.strip_suffix('\n').unwrap_or(&password);
    let password = password.strip_suffix('\r').unwrap_or(password);
    println!("{}", hash_line(&args.user, password)?);
    Ok(())
}
