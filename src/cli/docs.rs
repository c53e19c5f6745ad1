//! `fandex completions SHELL`, `fandex generate-docs DIR` and the man pages: both generated from the command line's clap definition,
//! so they cannot say anything the parser does not accept. The generated files are committed under
//! `doc/` (for packages and for reading without building); a test fails when they are stale.

use std::fs::Permissions;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::output::write_stdout;

/// Arguments of `fandex completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    shell: Shell,
}

/// The shells completions are generated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    /// bash (`/usr/share/bash-completion/completions/fandex`)
    Bash,
    /// zsh (`/usr/share/zsh/vendor-completions/_fandex`)
    Zsh,
    /// fish (`/usr/share/fish/vendor_completions.d/fandex.fish`)
    Fish,
}

impl Shell {
    /// Every shell, for generating them all.
    pub const ALL: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

    /// The file name this shell looks for (`fandex.bash`, `_fandex`, `fandex.fish`).
    pub fn file_name(self) -> &'static str {
        match self {
            Shell::Bash => "fandex.bash",
            Shell::Zsh => "_fandex",
            Shell::Fish => "fandex.fish",
        }
    }

    fn generator(self) -> clap_complete::Shell {
        match self {
            Shell::Bash => clap_complete::Shell::Bash,
            Shell::Zsh => clap_complete::Shell::Zsh,
            Shell::Fish => clap_complete::Shell::Fish,
        }
    }
}

/// The completion script of `shell` for `command`.
pub fn completions(mut command: clap::Command, shell: Shell) -> Vec<u8> {
    let mut script = Vec::new();
    let name = command.get_name().to_owned();
    clap_complete::generate(shell.generator(), &mut command, name, &mut script);
    script
}

/// The man pages of `command`: `(file name, roff text)` for the command (`fandex.1`) and each visible
/// subcommand (`fandex-search.1`, ...), as `clap_mangen::generate_to` would write them.
pub fn man_pages(command: clap::Command) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    fn render(command: clap::Command, pages: &mut Vec<(String, Vec<u8>)>) -> std::io::Result<()> {
        for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
            render(sub.clone(), pages)?;
        }
        let man = clap_mangen::Man::new(command);
        let mut text = Vec::new();
        man.render(&mut text)?;
        pages.push((man.get_filename(), text));
        Ok(())
    }
    let mut command = command.disable_help_subcommand(true);
    command.build();
    let mut pages = Vec::new();
    render(command, &mut pages)?;
    pages.sort();
    Ok(pages)
}

/// Arguments of `fandex generate-docs`.
#[derive(Debug, Args)]
pub struct GenerateDocsArgs {
    /// Directory to write `completions/` and `man/` into (the repository's `doc`)
    #[arg(value_name = "DIR")]
    dir: PathBuf,
}

/// Every generated file, as (path relative to the `doc` directory, content): one completion script per
/// shell under `completions/`, the man pages under `man/`.
pub fn generated(command: &clap::Command) -> std::io::Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = Shell::ALL
        .iter()
        .map(|&shell| {
            (
                Path::new("completions").join(shell.file_name()),
                completions(command.clone(), shell),
            )
        })
        .collect();
    for (name, text) in man_pages(command.clone())? {
        files.push((Path::new("man").join(name), text));
    }
    Ok(files)
}

/// Runs `fandex generate-docs DIR`: replaces `DIR/completions` and `DIR/man` with freshly generated
/// files (so a removed subcommand's page goes too).
pub fn run_generate(command: clap::Command, args: &GenerateDocsArgs) -> anyhow::Result<ExitCode> {
    let files = generated(&command).context("cannot render the man pages")?;
    for sub in ["completions", "man"] {
        let dir = args.dir.join(sub);
        match std::fs::remove_dir_all(&dir) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                return Err(err).with_context(|| format!("cannot remove {}", dir.display()));
            }
            _ => {}
        }
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::set_permissions(&dir, Permissions::from_mode(0o755)))
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    for (path, content) in &files {
        let path = args.dir.join(path);
        std::fs::write(&path, content)
            .and_then(|()| std::fs::set_permissions(&path, Permissions::from_mode(0o644)))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `fandex completions`: prints the script for the shell to stdout.
pub fn run(command: clap::Command, args: &CompletionsArgs) -> anyhow::Result<ExitCode> {
    let script = completions(command, args.shell);
    write_stdout(|out| std::io::Write::write_all(out, &script))?;
    Ok(ExitCode::SUCCESS)
}
