//! Tells the tests which database servers they may use: `cfg(test_postgres)`
//! and `cfg(test_mysql)` when the server's URL variable is set, or under
//! `CI=true` (where a missing server must fail, not skip). Without them the
//! engine's tests are compiled `#[ignore]`d, so a local run reports them as
//! ignored instead of passing them silently.

fn main() {
    let ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    println!("cargo::rerun-if-env-changed=CI");
    for (cfg, var) in [
        ("test_postgres", "TESSERA_TEST_POSTGRES_URL"),
        ("test_mysql", "TESSERA_TEST_MYSQL_URL"),
    ] {
        println!("cargo::rerun-if-env-changed={var}");
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        if ci || std::env::var(var).is_ok_and(|url| !url.trim().is_empty()) {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
}
