//! The writer: only changed files are written, header-marked orphans are deleted, files
//! without the header are never overwritten or deleted, and `check`'s plan sees all this.

mod common;

use bankplatform_gen::render::Paths;
use bankplatform_gen::write::{self, Action};

#[test]
fn writes_minimally_and_respects_hand_written_files() {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::new(dir.path().join("out"));
    let files = bankplatform_gen::generate(&common::example_spec(), &paths).unwrap();

    let plan = write::plan(&files, &paths).unwrap();
    let [created, changed, deleted, unchanged] = plan.counts();
    assert_eq!((changed, deleted, unchanged), (0, 0, 0));
    assert_eq!(created, files.len());
    write::apply(&plan).unwrap();
    assert!(write::plan(&files, &paths).unwrap().is_clean());

    // A user's own file beside generated ones, and an orphan the generator wrote earlier.
    let root = paths.out.join("live/development/eu-west-1/network");
    std::fs::write(root.join("extra.tf"), "# mine\n").unwrap();
    std::fs::write(
        root.join("old.tf"),
        format!("# {}\n", bankplatform_gen::render::HEADER),
    )
    .unwrap();
    // A stale generated file.
    std::fs::write(
        root.join("main.tf"),
        format!("# {}\n\nx = 1\n", bankplatform_gen::render::HEADER),
    )
    .unwrap();

    let plan = write::plan(&files, &paths).unwrap();
    let pending: Vec<(Action, String)> = plan
        .pending()
        .map(|c| {
            (
                c.action,
                c.path.file_name().unwrap().to_string_lossy().into_owned(),
            )
        })
        .collect();
    assert_eq!(
        pending,
        vec![
            (Action::Change, "main.tf".into()),
            (Action::Delete, "old.tf".into())
        ]
    );
    let diff = write::diff(
        &root.join("main.tf"),
        plan.pending().next().unwrap().old.as_deref().unwrap(),
        &plan.pending().next().unwrap().new,
    );
    assert!(diff.contains("-x = 1"), "{diff}");
    write::apply(&plan).unwrap();
    assert!(root.join("extra.tf").exists());
    assert!(!root.join("old.tf").exists());
    assert!(write::plan(&files, &paths).unwrap().is_clean());

    // A hand-written file where a generated one goes is refused, and left alone.
    std::fs::write(root.join("main.tf"), "# hand-written\n").unwrap();
    let err = write::plan(&files, &paths).unwrap_err().to_string();
    assert!(
        err.contains("refusing to overwrite") && err.contains("main.tf"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("main.tf")).unwrap(),
        "# hand-written\n"
    );
}

#[test]
fn removing_an_environment_deletes_its_roots() {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::new(dir.path().join("out"));
    let files = bankplatform_gen::generate(&common::example_spec(), &paths).unwrap();
    write::apply(&write::plan(&files, &paths).unwrap()).unwrap();
    let text = std::fs::read_to_string(common::example_spec())
        .unwrap()
        .replace("environment \"dev\" {\n  account     = \"development\"\n  dr_strategy = \"backup_restore\"\n}\n", "");
    let smaller = dir.path().join("smaller.hcl");
    std::fs::write(&smaller, text).unwrap();
    let files = bankplatform_gen::generate(&smaller, &paths).unwrap();
    let plan = write::plan(&files, &paths).unwrap();
    let deleted = plan
        .pending()
        .filter(|c| c.action == Action::Delete)
        .count();
    assert_eq!(
        deleted, 14,
        "two roots of dev, six files and a Terramate stack.tm.hcl each"
    );
    write::apply(&plan).unwrap();
    for root in ["network", "storage"] {
        assert!(
            !paths
                .out
                .join("live/development/eu-west-1")
                .join(root)
                .exists(),
            "empty directories are removed"
        );
    }
    // The account stays in the spec, and with it its baselines.
    assert!(paths
        .out
        .join("live/development/eu-west-1/baseline/main.tf")
        .exists());
}
