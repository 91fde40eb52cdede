//! The outbox as administrators see it: every mail's delivery record,
//! filtered by status and paged, never its content; only for holders of
//! `audit:read`.

use reqwest::Method;
use serde_json::Value;

use crate::every_engine_admin;
use crate::helpers::*;

const PASSWORD: &str = "correct-horse-battery";

every_engine_admin! {
    async fn admins_see_delivery_records_without_content(app) {
        let token = admin_token(&app).await;
        let emails: Vec<String> = (0..3).map(|i| unique_email(&format!("outbox{i}"))).collect();
        for email in &emails {
            app.register(email, PASSWORD).await;
            app.nth_mail_to(email, 1).await;
        }
        let page = app.admin_ok(Method::GET, "/api/v1/admin/mail?status=sent&limit=2", &token, None, 200).await;
        let items = page["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["recipient"], emails[2].as_str(), "newest first");
        assert_eq!(items[0]["kind"], "verify_email");
        assert_eq!(items[0]["status"], "sent");
        assert_eq!(items[0]["attempts"], 1);
        assert!(items[0]["sent_at"].is_string());
        let text = page.to_string();
        assert!(!text.contains("token=") && !text.contains("subject"), "no content: {text}");

        let cursor = page["next_cursor"].as_str().expect("a next page");
        let next: Value = app
            .admin_ok(Method::GET, &format!("/api/v1/admin/mail?status=sent&limit=2&cursor={cursor}"), &token, None, 200)
            .await;
        let rest = next["items"].as_array().unwrap();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0]["recipient"], emails[0].as_str());
        assert!(next.get("next_cursor").is_none());

        let failed = app.admin_ok(Method::GET, "/api/v1/admin/mail?status=failed", &token, None, 200).await;
        assert_eq!(failed["items"], serde_json::json!([]));
        for bad in ["status=lost", "limit=0", "limit=many", "cursor=%%%"] {
            let response = app.admin_call(Method::GET, &format!("/api/v1/admin/mail?{bad}"), &token, None).await;
            let status = response.status().as_u16();
            assert!(status == 422 || status == 400, "{bad}: {status}");
        }

        let user = app.login(&emails[0], PASSWORD).await;
        let response = app.admin_call(Method::GET, "/api/v1/admin/mail", &user.access_token, None).await;
        assert_eq!(response.status(), 403, "a user without audit:read");
    }
}
