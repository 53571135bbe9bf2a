//! Outgoing mail: SMTP through lettre, or, with no SMTP configured, an outbox file in the
//! data folder that a lone self-hosted admin can read (the log says where).

use lettre::{
    message::{header::ContentType, Mailbox},
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};
use std::{path::PathBuf, sync::Arc, time::Duration};
use tokio::io::AsyncWriteExt;

#[derive(Clone, Debug)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

#[derive(Clone)]
pub enum Mailer {
    Smtp {
        transport: Arc<AsyncSmtpTransport<Tokio1Executor>>,
        from: Mailbox,
    },
    Outbox {
        path: PathBuf,
        from: Mailbox,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid address: {0}")]
    Address(String),
    #[error("could not send: {0}")]
    Send(String),
}

impl Mailer {
    pub fn new(smtp_url: Option<&str>, from: &str, outbox: PathBuf) -> anyhow::Result<Self> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| anyhow::anyhow!("invalid sender address `{from}`: {e}"))?;
        Ok(match smtp_url {
            Some(url) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| anyhow::anyhow!("invalid SMTP URL: {e}"))?
                    .timeout(Some(Duration::from_secs(15)))
                    .build();
                Mailer::Smtp {
                    transport: Arc::new(transport),
                    from,
                }
            }
            None => Mailer::Outbox { path: outbox, from },
        })
    }

    pub fn describe(&self) -> String {
        match self {
            Mailer::Smtp { .. } => "smtp".into(),
            Mailer::Outbox { path, .. } => format!("outbox file {}", path.display()),
        }
    }

    pub async fn send(&self, mail: Mail) -> Result<(), MailError> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|_| MailError::Address(mail.to.clone()))?;
        match self {
            Mailer::Smtp { transport, from } => {
                let msg = Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(mail.subject.clone())
                    .header(ContentType::TEXT_PLAIN)
                    .body(mail.body)
                    .map_err(|e| MailError::Send(e.to_string()))?;
                transport
                    .send(msg)
                    .await
                    .map_err(|e| MailError::Send(e.to_string()))?;
                tracing::info!(to = %mail.to, subject = %mail.subject, "mail sent");
                Ok(())
            }
            Mailer::Outbox { path, from } => {
                let entry = format!(
                    "----- {}\nFrom: {from}\nTo: {to}\nSubject: {}\n\n{}\n\n",
                    chrono::Utc::now().to_rfc3339(),
                    mail.subject,
                    mail.body
                );
                if let Some(dir) = path.parent() {
                    tokio::fs::create_dir_all(dir)
                        .await
                        .map_err(|e| MailError::Send(e.to_string()))?;
                }
                let mut f = tokio::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .await
                    .map_err(|e| MailError::Send(e.to_string()))?;
                f.write_all(entry.as_bytes())
                    .await
                    .map_err(|e| MailError::Send(e.to_string()))?;
                // The body holds one-time links: it goes to the file, never to the log.
                tracing::info!(to = %mail.to, subject = %mail.subject, outbox = %path.display(),
                    "no SMTP configured: mail written to the outbox file");
                Ok(())
            }
        }
    }
}
