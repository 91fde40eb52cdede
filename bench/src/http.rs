//! A deliberately small HTTP/1.1 client: one keep-alive connection per
//! [`Client`], no pool, no redirects, no TLS. The machine running the bench
//! also runs the server, so every microsecond the client spends is taken
//! from the server.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{
    HeaderValue, AUTHORIZATION, CONTENT_TYPE, COOKIE, HOST, LOCATION, RETRY_AFTER, SET_COOKIE,
};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// A response, body read to the end.
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// `Retry-After` in seconds, when present and numeric.
    pub retry_after: Option<u64>,
    /// `Location`, when present (redirects are not followed).
    pub location: Option<String>,
    /// Every `Set-Cookie` value (usually none).
    pub set_cookies: Vec<String>,
    /// The whole body.
    pub body: Bytes,
}

impl Response {
    /// The body as (lossy) text, shortened for error messages.
    pub fn body_text(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        text.chars().take(300).collect()
    }

    /// The value of the cookie `name` set by this response, if any.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.set_cookies.iter().find_map(|header| {
            let pair = header.split(';').next()?.trim();
            let (key, value) = pair.split_once('=')?;
            (key == name).then_some(value)
        })
    }
}

/// One keep-alive HTTP/1.1 connection to the server (reconnects if closed).
pub struct Client {
    addr: SocketAddr,
    host: HeaderValue,
    json: HeaderValue,
    form: HeaderValue,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Client {
    /// A client for `addr`; connects lazily.
    pub fn new(addr: SocketAddr) -> Result<Client> {
        Ok(Client {
            addr,
            host: HeaderValue::from_str(&addr.to_string())?,
            json: HeaderValue::from_static("application/json"),
            form: HeaderValue::from_static("application/x-www-form-urlencoded"),
            sender: None,
        })
    }

    /// Opens the connection now (so setup, not the measured window, pays it).
    pub async fn connect(&mut self) -> Result<()> {
        let stream = TcpStream::connect(self.addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            // Ends when the server closes the connection or the sender is dropped.
            let _ = connection.await;
        });
        self.sender = Some(sender);
        Ok(())
    }

    /// `GET path`, optionally with a prebuilt `Authorization` value.
    pub async fn get(&mut self, path: &str, authorization: Option<&HeaderValue>) -> Result<Response> {
        self.get_with_cookie(path, authorization, None).await
    }

    /// `GET path` with optional `Authorization` and `Cookie` values.
    pub async fn get_with_cookie(
        &mut self,
        path: &str,
        authorization: Option<&HeaderValue>,
        cookie: Option<&HeaderValue>,
    ) -> Result<Response> {
        let mut builder = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header(HOST, &self.host);
        if let Some(value) = authorization {
            builder = builder.header(AUTHORIZATION, value);
        }
        if let Some(value) = cookie {
            builder = builder.header(COOKIE, value);
        }
        let request = builder.body(Full::new(Bytes::new()))?;
        self.send(request).await
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&mut self, path: &str, body: Bytes) -> Result<Response> {
        let request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(HOST, &self.host)
            .header(CONTENT_TYPE, &self.json)
            .body(Full::new(body))?;
        self.send(request).await
    }

    /// `POST path` with an `application/x-www-form-urlencoded` body and a
    /// prebuilt `Authorization` value.
    pub async fn post_form(
        &mut self,
        path: &str,
        body: Bytes,
        authorization: &HeaderValue,
    ) -> Result<Response> {
        self.post_form_with(path, body, Some(authorization), None).await
    }

    /// `POST path` with a form body and optional `Authorization` and
    /// `Cookie` values (the hosted login form sends a cookie, no
    /// `Authorization`).
    pub async fn post_form_with(
        &mut self,
        path: &str,
        body: Bytes,
        authorization: Option<&HeaderValue>,
        cookie: Option<&HeaderValue>,
    ) -> Result<Response> {
        let mut builder = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(HOST, &self.host)
            .header(CONTENT_TYPE, &self.form);
        if let Some(value) = authorization {
            builder = builder.header(AUTHORIZATION, value);
        }
        if let Some(value) = cookie {
            builder = builder.header(COOKIE, value);
        }
        let request = builder.body(Full::new(body))?;
        self.send(request).await
    }

    async fn send(&mut self, request: Request<Full<Bytes>>) -> Result<Response> {
        if self.sender.as_ref().is_none_or(SendRequest::is_closed) {
            self.connect().await?;
        }
        let sender = self.sender.as_mut().context("no connection")?;
        let result = async {
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse::<u64>().ok());
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|value| value.to_str().ok())
                .map(str::to_string);
            let set_cookies = response
                .headers()
                .get_all(SET_COOKIE)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .map(str::to_string)
                .collect();
            let body = response.into_body().collect().await?.to_bytes();
            anyhow::Ok(Response {
                status,
                retry_after,
                location,
                set_cookies,
                body,
            })
        }
        .await;
        if result.is_err() {
            // The connection is in an unknown state: start afresh next time.
            self.sender = None;
        }
        result
    }
}

/// One `GET` on a fresh connection with a timeout; used for readiness polls.
pub async fn probe(addr: SocketAddr, path: &'static str, timeout: Duration) -> Result<u16> {
    let mut client = Client::new(addr)?;
    let response = tokio::time::timeout(timeout, client.get(path, None))
        .await
        .context("timed out")??;
    Ok(response.status)
}
