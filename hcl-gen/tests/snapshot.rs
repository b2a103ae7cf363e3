//! The snapshot of the whole tree for the example spec is the repository's own
//! `examples/platform/` and `modules/`: `repository_tree_is_up_to_date` compares what
//! the spec generates with them byte for byte (new, changed and orphaned files), so
//! there is no second copy to keep in step. Plus: the example spec is what `init`
//! writes, and the layout the seed's DR strategies ask for.

mod common;

use bankplatform_gen::init::{spec_text, SpecParams};
use bankplatform_gen::render::Paths;

#[test]
fn example_spec_is_what_init_writes() {
    let on_disk = std::fs::read_to_string(common::example_spec()).unwrap();
    assert_eq!(
        on_disk,
        spec_text(&SpecParams::example()),
        "run `bankplatform-gen init --force examples/platform/platform.hcl`"
    );
}

#[test]
fn repository_tree_is_up_to_date() {
    let repo = common::repo_dir();
    let mut paths = Paths::new(repo.join("examples/platform"));
    paths.modules = repo.join("modules");
    let files = bankplatform_gen::generate(&common::example_spec(), &paths).unwrap();
    let plan = bankplatform_gen::write::plan(&files, &paths).unwrap();
    let stale: Vec<String> = plan
        .pending()
        .map(|c| format!("{:?} {}", c.action, c.path.display()))
        .collect();
    assert!(
        stale.is_empty(),
        "run `bankplatform-gen generate --spec examples/platform/platform.hcl --out examples/platform --modules-dir modules`:\n{}",
        stale.join("\n")
    );
}

#[test]
fn the_seven_accounts_and_dr_layout() {
    let tree = common::render_tree(&common::example_spec());
    // Dev (backup & restore): nothing but the account's regional baseline in the
    // secondary region.
    assert!(!tree
        .keys()
        .any(|p| p.starts_with("live/development/eu-central-1/")
            && !p.starts_with("live/development/eu-central-1/baseline/")));
    // Every account has a baseline in every region; the primary one owns the
    // account-wide settings and records global types.
    for account in [
        "management",
        "security",
        "log-archive",
        "shared-services",
        "development",
        "testing",
        "production",
    ] {
        let home = &tree[&format!("live/{account}/eu-west-1/baseline/main.tf")];
        let other = &tree[&format!("live/{account}/eu-central-1/baseline/main.tf")];
        assert!(
            home.contains("account_wide = true")
                && home.contains("include_global_resource_types = true"),
            "{home}"
        );
        assert!(
            other.contains("account_wide = false")
                && other.contains("include_global_resource_types = false"),
            "{other}"
        );
    }
    // Test (pilot light): a two-zone network without NAT in the secondary region.
    let pl = &tree["live/testing/eu-central-1/network/main.tf"];
    assert!(
        pl.contains("nat_gateway_strategy     = \"none\"")
            && pl.contains("az_count                 = 2"),
        "{pl}"
    );
    // Prod (warm standby): a full network with one NAT, and replicated storage.
    assert!(tree["live/production/eu-central-1/network/main.tf"].contains("\"single\""));
    assert!(tree["live/production/eu-west-1/storage/main.tf"]
        .contains("replica_region = \"eu-central-1\""));
    // Every root assumes the role in its own account.
    assert!(
        tree["live/log-archive/eu-west-1/log_archive/variables.tf"].contains("\"210000000003\"")
    );
    // The manifest starts with the bootstrap.
    let manifest: serde_json::Value = serde_json::from_str(&tree["live/manifest.json"]).unwrap();
    assert_eq!(manifest["roots"][0]["id"], "management/eu-west-1/bootstrap");
}
