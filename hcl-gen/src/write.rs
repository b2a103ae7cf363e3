//! Writing the tree: deterministic, minimal, and safe for hand-written files.
//!
//! [`plan`] compares what the spec generates with what is on disk and returns one
//! [`Change`] per file: created, changed, deleted (a header-marked file the spec no
//! longer produces) or unchanged. A file on disk without the generated header is never
//! overwritten or deleted: [`plan`] reports it as a conflict. [`apply`] then writes only
//! created and changed files and removes deleted ones; `check` prints the plan as a diff.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::render::{File, Paths, HEADER, MODULES_PREFIX};

/// What happens to one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    /// New file.
    Create,
    /// Different text on disk.
    Change,
    /// Generated earlier, no longer produced.
    Delete,
    /// Already up to date.
    Unchanged,
}

/// One file's fate.
#[derive(Clone, Debug)]
pub struct Change {
    /// Where it is.
    pub path: PathBuf,
    /// What happens.
    pub action: Action,
    /// The text on disk, if any.
    pub old: Option<String>,
    /// The generated text (empty for deletions).
    pub new: String,
}

/// A network root whose CIDR would change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Renumbered {
    /// The root's file.
    pub path: PathBuf,
    /// The CIDR on disk.
    pub from: String,
    /// The CIDR the spec now gives.
    pub to: String,
    /// The environment, from the root's `environment` tag.
    pub environment: Option<String>,
    /// Whether it is the environment's DR-region network (`stack = "network-dr"`).
    pub secondary: bool,
}

impl std::fmt::Display for Renumbered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let env = self.environment.as_deref().unwrap_or("<name>");
        let key = if self.secondary {
            "secondary_cidr"
        } else {
            "cidr"
        };
        write!(
            f,
            "{}: the network would move from {} to {}, which replaces its VPC and everything in it. \
             To keep it, pin it in the spec: environment \"{env}\" {{ network {{ {key} = \"{}\" }} }}; \
             if it was never applied, pass --allow-renumber.",
            self.path.display(),
            self.from,
            self.to,
            self.from,
        )
    }
}

/// The value of the first `cidr_block = "…"` line.
fn cidr_block(text: &str) -> Option<String> {
    assignment(text, "cidr_block")
}

/// The value of `<key> = "…"` as a tag (first occurrence).
fn tag_value(text: &str, key: &str) -> Option<String> {
    assignment(text, key)
}

fn assignment(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (k, v) = line.trim().split_once('=')?;
        (k.trim() == key)
            .then(|| {
                v.trim()
                    .strip_prefix('"')?
                    .strip_suffix('"')
                    .map(str::to_string)
            })
            .flatten()
    })
}

/// The difference between the generated tree and the disk.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Every file, sorted by path.
    pub changes: Vec<Change>,
}

impl Plan {
    /// Networks that this plan would move to another CIDR: changed files whose
    /// `cidr_block = "…"` differs from the one on disk. Applying such a root replaces the
    /// VPC and everything in it, so `generate` refuses unless told otherwise.
    pub fn renumbered(&self) -> Vec<Renumbered> {
        self.changes
            .iter()
            .filter(|c| c.action == Action::Change)
            .filter_map(|c| {
                let from = cidr_block(c.old.as_deref()?)?;
                let to = cidr_block(&c.new)?;
                (from != to).then(|| Renumbered {
                    path: c.path.clone(),
                    from,
                    to,
                    environment: tag_value(&c.new, "environment"),
                    secondary: tag_value(&c.new, "stack").as_deref() == Some("network-dr"),
                })
            })
            .collect()
    }

    /// The files that would be created, changed or deleted.
    pub fn pending(&self) -> impl Iterator<Item = &Change> {
        self.changes
            .iter()
            .filter(|c| c.action != Action::Unchanged)
    }

    /// Whether the disk already matches.
    pub fn is_clean(&self) -> bool {
        self.pending().next().is_none()
    }

    /// Counts of created, changed, deleted and unchanged files.
    pub fn counts(&self) -> [usize; 4] {
        let mut n = [0; 4];
        for c in &self.changes {
            n[c.action as usize] += 1;
        }
        n
    }
}

/// Where a rendered file goes on disk.
pub fn disk_path(paths: &Paths, file: &File) -> PathBuf {
    match file.path.strip_prefix(MODULES_PREFIX) {
        Some(rest) => join(&paths.modules, rest),
        None => join(&paths.out, &file.path),
    }
}

fn join(base: &Path, rel: &str) -> PathBuf {
    let mut p = base.to_path_buf();
    for part in rel.split('/') {
        p.push(part);
    }
    p
}

/// Whether `text` carries the generated header in its first lines.
pub fn is_generated(text: &str) -> bool {
    text.lines().take(3).any(|l| l.contains(HEADER))
}

/// Compares `files` with the disk. Fails, naming them, if any would overwrite a file
/// without the header.
pub fn plan(files: &[File], paths: &Paths) -> Result<Plan> {
    let mut changes = Vec::new();
    let mut conflicts = Vec::new();
    let mut wanted = BTreeSet::new();
    for f in files {
        let path = disk_path(paths, f);
        wanted.insert(path.clone());
        let new = f.text();
        let old = match std::fs::read(&path) {
            Ok(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let action = match &old {
            None => Action::Create,
            Some(o) if *o == new => Action::Unchanged,
            Some(o) if !is_generated(o) => {
                conflicts.push(path.clone());
                continue;
            }
            Some(_) => Action::Change,
        };
        changes.push(Change {
            path,
            action,
            old,
            new,
        });
    }
    if !conflicts.is_empty() {
        let list: Vec<String> = conflicts
            .iter()
            .map(|p| format!("  {}", p.display()))
            .collect();
        bail!(
            "refusing to overwrite files that bankplatform-gen did not write (no \"{HEADER}\" header):\n{}\nmove them away, or rename what the spec generates",
            list.join("\n")
        );
    }
    for dir in [paths.out.join("live"), paths.modules.clone()] {
        for path in walk(&dir)? {
            if wanted.contains(&path) {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            if is_generated(&text) {
                changes.push(Change {
                    path,
                    action: Action::Delete,
                    old: Some(text),
                    new: String::new(),
                });
            }
        }
    }
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Plan { changes })
}

/// Every regular file under `dir`, sorted (none if `dir` does not exist). Terraform's
/// working directories (`.terraform`) are skipped.
fn walk(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("listing {}", d.display())),
        };
        for entry in entries {
            let entry = entry?;
            let ty = entry.file_type()?;
            if ty.is_dir() {
                if entry.file_name() != ".terraform" {
                    stack.push(entry.path());
                }
            } else if ty.is_file() {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Writes created and changed files, removes deleted ones (and directories they leave empty).
pub fn apply(plan: &Plan) -> Result<()> {
    for c in plan.pending() {
        match c.action {
            Action::Create | Action::Change => {
                if let Some(parent) = c.path.parent() {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("creating {}", parent.display()))?;
                }
                std::fs::write(&c.path, &c.new)
                    .with_context(|| format!("writing {}", c.path.display()))?;
                if c.path.extension().is_some_and(|e| e == "sh") {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(&c.path, std::fs::Permissions::from_mode(0o755))?;
                }
            }
            Action::Delete => {
                std::fs::remove_file(&c.path)
                    .with_context(|| format!("removing {}", c.path.display()))?;
                let mut dir = c.path.parent();
                while let Some(d) = dir {
                    if std::fs::remove_dir(d).is_err() {
                        break;
                    }
                    dir = d.parent();
                }
            }
            Action::Unchanged => {}
        }
    }
    Ok(())
}

/// A line diff of `old` to `new` in unified style, with two lines of context.
pub fn diff(path: &Path, old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let mut out = format!("--- {p}\n+++ {p} (generated)\n", p = path.display());
    if a.len() * b.len() > 4_000_000 {
        out.push_str("(too large to diff)\n");
        return out;
    }
    // Longest common subsequence table, from the end.
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', a[i]));
            i += 1;
        } else {
            ops.push(('+', b[j]));
            j += 1;
        }
    }
    let near = |k: usize| {
        let lo = k.saturating_sub(2);
        let hi = (k + 3).min(ops.len());
        ops[lo..hi].iter().any(|(c, _)| *c != ' ')
    };
    let mut skipped = false;
    for (k, (c, line)) in ops.iter().enumerate() {
        if *c != ' ' || near(k) {
            if skipped {
                out.push_str("@@ ... @@\n");
                skipped = false;
            }
            let _ = writeln!(out, "{c}{line}");
        } else {
            skipped = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_shows_changed_lines_with_context() {
        let d = diff(
            Path::new("x.tf"),
            "a\nb\nc\nd\ne\nf\ng\n",
            "a\nb\nc\nD\ne\nf\ng\n",
        );
        assert!(d.contains("-d\n+D\n"), "{d}");
        assert!(d.contains(" b\n c\n"), "{d}");
        assert!(!d.contains(" a\n"), "{d}");
    }
}
