//! The command line where people look: `--help` naming the variables and
//! where the data lives, `serve --listen/--data-dir/--issuer` over the
//! environment, the database every command names on stderr, the admin
//! commands' refusal to create a database by accident (exit 2, nothing
//! written) unless `--create`, and text logs without colour codes when
//! they do not go to a terminal.

use std::path::Path;
use std::process::Output;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tessera_sql::testing::{fresh_database, Server};

use crate::binary::{free_port, run, tessera, Served};
use crate::helpers::{jwt_part, test_master_key, TempDir};

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The names in `dir` (empty when it holds nothing).
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn help_lists_the_key_variables_and_where_the_data_lives() {
    let dir = TempDir::new();
    for args in [&["--help"][..], &["serve", "--help"]] {
        let help = run(tessera(&dir.0).args(args));
        assert!(help.status.success(), "{args:?}");
        let text = stdout(&help);
        for needle in [
            "TESSERA_LISTEN",
            "TESSERA_ISSUER",
            "TESSERA_DATA_DIR",
            "TESSERA_DATABASE_URL",
            "TESSERA_MASTER_KEY",
            "./tessera-data/tessera.db",
            "./tessera-data/master.key",
            "--data-dir",
        ] {
            assert!(text.contains(needle), "{args:?} lacks {needle}:\n{text}");
        }
    }
    let serve = stdout(&run(tessera(&dir.0).args(["serve", "--help"])));
    assert!(
        serve.contains("--listen <ADDR>") && serve.contains("--issuer <URL>"),
        "{serve}"
    );
    for group in ["users", "clients", "keys"] {
        let help = stdout(&run(tessera(&dir.0).args([group, "--help"])));
        assert!(
            help.contains("--create") && help.contains("--tenant") && help.contains("status 2"),
            "{group} --help:\n{help}"
        );
    }
    let users = stdout(&run(tessera(&dir.0).args(["users", "--help"])));
    for command in [
        "list",
        "show",
        "set-password",
        "grant-role",
        "revoke-role",
        "suspend",
        "unsuspend",
    ] {
        assert!(users.contains(command), "users --help lacks {command}:\n{users}");
    }
    assert!(entries(&dir.0).is_empty(), "--help creates nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_flags_override_the_environment_and_feed_the_derived_defaults() {
    let dirs = TempDir::new();
    let (from_env, from_flag) = (dirs.0.join("env-data"), dirs.0.join("flag-data"));
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let server = Served::start_with(
        &["--listen", &listen, "--data-dir", from_flag.to_str().unwrap()],
        port,
        &[
            ("TESSERA_LISTEN", "127.0.0.1:1"),
            ("TESSERA_DATA_DIR", from_env.to_str().unwrap()),
        ],
    )
    .await;
    let credentials = json!({"email": "flags@example.com", "password": "flag-Over-Env-4"});
    assert_eq!(
        server.post("/api/v1/auth/register", credentials).await.status(),
        StatusCode::CREATED
    );
    let login = json!({"identifier": "flags@example.com", "password": "flag-Over-Env-4"});
    let tokens: Value = server
        .post("/api/v1/auth/login", login)
        .await
        .json()
        .await
        .unwrap();
    let claims = jwt_part(tokens["access_token"].as_str().unwrap(), 1);
    assert_eq!(
        claims["iss"],
        format!("http://{listen}"),
        "the issuer follows --listen"
    );
    assert!(from_flag.join("tessera.db").is_file() && from_flag.join("master.key").is_file());
    assert!(!from_env.exists(), "TESSERA_DATA_DIR was overridden");
    let database = format!("database: {} (SQLite)", from_flag.join("tessera.db").display());
    assert!(server.stderr().contains(&database), "{}", server.stderr());
    drop(server);

    let port = free_port();
    let server = Served::start_with(
        &["--issuer", "https://id.example.com/"],
        port,
        &[("TESSERA_ISSUER", "https://env.example.com")],
    )
    .await;
    let discovery: Value = server
        .client
        .get(server.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], "https://id.example.com");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_logs_have_no_colour_codes_when_not_written_to_a_terminal() {
    let server = Served::start(&[("TESSERA_LOG_FORMAT", "text")]).await;
    let credentials = json!({"email": "plain@example.com", "password": "no-Colour-Codes-8"});
    server.post("/api/v1/auth/register", credentials).await;
    let log = server.stdout();
    assert!(log.contains("tessera ready"), "{log}");
    assert!(!log.contains('\u{1b}'), "ESC in a piped log:\n{log:?}");

    let dir = TempDir::new();
    let admin = run(tessera(&dir.0)
        .args(["keys", "list", "--create"])
        .env("TESSERA_LOG_FORMAT", "text")
        .env("TESSERA_LOG", "debug"));
    assert!(admin.status.success(), "{}", stderr(&admin));
    let log = stderr(&admin);
    assert!(log.contains("DEBUG") || log.contains("INFO"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "ESC in the admin command's log:\n{log:?}"
    );
}

#[test]
fn admin_commands_refuse_to_create_a_missing_sqlite_database() {
    let dir = TempDir::new();
    let expected = std::path::absolute(dir.0.join("tessera-data/tessera.db")).unwrap();
    let commands: [&[&str]; 5] = [
        &["users", "list"],
        &["users", "create", "--email", "ops@example.com"],
        &["clients", "list"],
        &["keys", "rotate"],
        &["users", "--tenant", "default", "show", "ops@example.com"],
    ];
    for args in commands {
        let output = run(tessera(&dir.0).args(args));
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {message}");
        assert!(
            message.contains(&format!("no database at {}", expected.display())),
            "{args:?} names the path it looked for: {message}"
        );
        for hint in [
            "--data-dir",
            "TESSERA_DATA_DIR",
            "TESSERA_DATABASE_URL",
            "--create",
        ] {
            assert!(message.contains(hint), "{args:?} lacks {hint}: {message}");
        }
        assert!(stdout(&output).is_empty(), "{args:?}");
        assert!(
            entries(&dir.0).is_empty(),
            "{args:?} created {:?}",
            entries(&dir.0)
        );
    }
}

#[test]
fn create_starts_a_database_that_later_commands_find_by_folder_flag_or_variable() {
    let dir = TempDir::new();
    let created = run(tessera(&dir.0).args([
        "users",
        "create",
        "--email",
        "ops@example.com",
        "--create",
        "--json",
    ]));
    assert!(created.status.success(), "{}", stderr(&created));
    let data = std::path::absolute(dir.0.join("tessera-data")).unwrap();
    assert!(data.join("tessera.db").is_file() && data.join("master.key").is_file());
    assert!(stderr(&created).contains(&format!(
        "database: {} (SQLite)",
        data.join("tessera.db").display()
    )));

    let listed = run(tessera(&dir.0).args(["users", "list", "--json"]));
    assert!(listed.status.success(), "{}", stderr(&listed));
    assert!(stdout(&listed).contains("ops@example.com"));

    let elsewhere = TempDir::new();
    let by_flag = run(tessera(&elsewhere.0)
        .args(["users", "show", "ops@example.com", "--data-dir"])
        .arg(&data));
    assert!(by_flag.status.success(), "{}", stderr(&by_flag));
    let by_variable = run(tessera(&elsewhere.0)
        .args(["users", "list", "--json"])
        .env("TESSERA_DATA_DIR", &data));
    assert!(
        stdout(&by_variable).contains("ops@example.com"),
        "{}",
        stderr(&by_variable)
    );
    let lost = run(tessera(&elsewhere.0).args(["users", "list"]));
    assert_eq!(lost.status.code(), Some(2));
    assert!(entries(&elsewhere.0).is_empty(), "{:?}", entries(&elsewhere.0));

    // The right database but not its master key: a new key would seal
    // signing keys the server cannot open, so nothing is generated.
    let keyless = run(tessera(&elsewhere.0).args(["keys", "rotate"]).env(
        "TESSERA_DATABASE_URL",
        format!("sqlite://{}", data.join("tessera.db").display()),
    ));
    assert_eq!(keyless.status.code(), Some(2), "{}", stderr(&keyless));
    assert!(
        stderr(&keyless).contains("no master key at"),
        "{}",
        stderr(&keyless)
    );
    assert!(entries(&elsewhere.0).is_empty(), "{:?}", entries(&elsewhere.0));
}

#[test]
fn every_command_names_its_database_with_the_password_hidden() {
    let dir = TempDir::new();
    let migrated = run(tessera(&dir.0)
        .arg("migrate")
        .env("TESSERA_DATABASE_URL", "sqlite://relative.db"));
    assert!(migrated.status.success(), "{}", stderr(&migrated));
    let file = std::path::absolute(dir.0.join("relative.db")).unwrap();
    assert!(
        stderr(&migrated).contains(&format!("database: {} (SQLite)", file.display())),
        "{}",
        stderr(&migrated)
    );

    let unreachable = run(tessera(&dir.0)
        .args(["clients", "list"])
        .env(
            "TESSERA_DATABASE_URL",
            "postgres://app:hunter2@127.0.0.1:1/tessera",
        )
        .env("TESSERA_MASTER_KEY", test_master_key()));
    assert_eq!(unreachable.status.code(), Some(1), "{}", stderr(&unreachable));
    let message = stderr(&unreachable);
    assert!(
        message.contains("database: postgres://app:redacted@127.0.0.1:1/tessera (PostgreSQL)"),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
}

/// The tables of the database at `url` on `server`.
async fn tables(server: Server, url: &str) -> Vec<String> {
    match server {
        Server::Postgres => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            sqlx::query_scalar(
                "select table_name::text from information_schema.tables where table_schema = current_schema()",
            )
            .fetch_all(&pool)
            .await
            .unwrap()
        }
        Server::MySql => {
            use sqlx::Row;
            let pool = sqlx::MySqlPool::connect(url).await.unwrap();
            let rows = sqlx::query(
                "select table_name from information_schema.tables where table_schema = database()",
            )
            .fetch_all(&pool)
            .await
            .unwrap();
            rows.iter()
                .map(|r| r.try_get_unchecked::<String, _>(0).unwrap())
                .collect()
        }
    }
}

/// On an empty database of `server`, the admin commands refuse (exit 2,
/// naming it, creating no table) until `--create` sets it up.
async fn admin_commands_refuse_a_database_without_the_schema_on(server: Server) {
    let Some(db) = fresh_database(server).await else {
        return;
    };
    let dir = TempDir::new();
    let command = |args: &[&str]| {
        let mut command = tessera(&dir.0);
        command
            .args(args)
            .env("TESSERA_DATABASE_URL", &db.url)
            .env("TESSERA_MASTER_KEY", test_master_key());
        run(&mut command)
    };
    let refused = command(&["clients", "list"]);
    let message = stderr(&refused);
    assert_eq!(refused.status.code(), Some(2), "{message}");
    assert!(message.contains("has no Tessera schema yet"), "{message}");
    assert!(message.contains(&format!("the database {}", db.url)), "{message}");
    assert!(
        message.contains("--create") && message.contains("TESSERA_DATABASE_URL"),
        "{message}"
    );
    assert_eq!(
        tables(server, &db.url).await,
        Vec::<String>::new(),
        "nothing created"
    );
    assert!(entries(&dir.0).is_empty(), "{:?}", entries(&dir.0));

    let created = command(&["clients", "list", "--create", "--json"]);
    assert!(created.status.success(), "{}", stderr(&created));
    assert!(tables(server, &db.url).await.iter().any(|t| t == "client"));
    let again = command(&["clients", "list", "--json"]);
    assert!(again.status.success(), "{}", stderr(&again));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(test_postgres), ignore = "PostgreSQL is not configured")]
async fn admin_commands_refuse_a_postgres_database_without_the_schema() {
    admin_commands_refuse_a_database_without_the_schema_on(Server::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(test_mysql), ignore = "MariaDB is not configured")]
async fn admin_commands_refuse_a_mariadb_database_without_the_schema() {
    admin_commands_refuse_a_database_without_the_schema_on(Server::MySql).await;
}
