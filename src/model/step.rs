//! The seven steps of the IdP Integration configurator as data, and the one pure function
//! that says which are done. Card colours are never stored: they are computed from facts.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    Domains,
    EnterpriseApp,
    GroupMapping,
    Saml,
    Scim,
    UsersAdded,
    BackupLogin,
}

impl Step {
    pub const ALL: [Step; 7] = [
        Step::Domains,
        Step::EnterpriseApp,
        Step::GroupMapping,
        Step::Saml,
        Step::Scim,
        Step::UsersAdded,
        Step::BackupLogin,
    ];

    pub fn number(self) -> usize {
        Step::ALL.iter().position(|s| *s == self).unwrap_or(0) + 1
    }

    pub fn title(self) -> &'static str {
        match self {
            Step::Domains => "Organisation's domains",
            Step::EnterpriseApp => "Register the enterprise app in your IdP",
            Step::GroupMapping => "User groups mapping",
            Step::Saml => "SAML integration",
            Step::Scim => "SCIM integration",
            Step::UsersAdded => "Add users to the application groups",
            Step::BackupLogin => "Backup login",
        }
    }

    pub fn blurb(self) -> &'static str {
        match self {
            Step::Domains => {
                "Prove your organisation owns its email domains with a DNS TXT record."
            }
            Step::EnterpriseApp => {
                "Create the enterprise application for this product in your identity provider."
            }
            Step::GroupMapping => {
                "Tell us which IdP groups hold the business account admins and the desktop users."
            }
            Step::Saml => "Exchange SAML settings between your IdP and this service.",
            Step::Scim => "Let your IdP keep users and groups in sync.",
            Step::UsersAdded => "Put the right people in the two groups in your IdP.",
            Step::BackupLogin => {
                "Choose who can still sign in with a password if the IdP is unavailable."
            }
        }
    }
}

/// What is stored about an integration, reduced to what the steps depend on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    pub active: bool,
    pub domains_total: usize,
    pub domains_verified: usize,
    pub app_registered: bool,
    pub admins_group_complete: bool,
    pub desktop_group_complete: bool,
    pub idp_entity_id_set: bool,
    pub idp_sso_url_set: bool,
    pub valid_certificates: usize,
    pub scim_enabled: bool,
    pub scim_confirmed: bool,
    pub users_added: bool,
    pub backup_login_set: bool,
}

/// Whether each step of `Step::ALL` is done (green).
pub fn evaluate(f: &Facts) -> [bool; 7] {
    Step::ALL.map(|s| step_done(s, f))
}

pub fn step_done(step: Step, f: &Facts) -> bool {
    match step {
        // While active, a newly added domain stays pending without turning the card grey:
        // SSO simply does not cover it until it is verified.
        Step::Domains => {
            if f.active {
                f.domains_verified > 0
            } else {
                f.domains_total > 0 && f.domains_verified == f.domains_total
            }
        }
        Step::EnterpriseApp => f.app_registered,
        Step::GroupMapping => f.admins_group_complete && f.desktop_group_complete,
        Step::Saml => f.idp_entity_id_set && f.idp_sso_url_set && f.valid_certificates > 0,
        Step::Scim => !f.scim_enabled || f.scim_confirmed,
        Step::UsersAdded => f.users_added,
        Step::BackupLogin => f.backup_login_set,
    }
}

/// Activation needs every card green.
pub fn can_activate(f: &Facts) -> bool {
    evaluate(f).iter().all(|d| *d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_done() -> Facts {
        Facts {
            active: false,
            domains_total: 2,
            domains_verified: 2,
            app_registered: true,
            admins_group_complete: true,
            desktop_group_complete: true,
            idp_entity_id_set: true,
            idp_sso_url_set: true,
            valid_certificates: 1,
            scim_enabled: true,
            scim_confirmed: true,
            users_added: true,
            backup_login_set: true,
        }
    }

    struct Case {
        name: &'static str,
        change: fn(&mut Facts),
        step: Step,
        want: bool,
    }

    #[test]
    fn each_step_turns_green_only_on_its_own_facts() {
        let cases = [
            Case {
                name: "no domains",
                change: |f| {
                    f.domains_total = 0;
                    f.domains_verified = 0
                },
                step: Step::Domains,
                want: false,
            },
            Case {
                name: "one domain pending",
                change: |f| f.domains_verified = 1,
                step: Step::Domains,
                want: false,
            },
            Case {
                name: "pending while active stays green",
                change: |f| {
                    f.active = true;
                    f.domains_verified = 1
                },
                step: Step::Domains,
                want: true,
            },
            Case {
                name: "active without verified domain",
                change: |f| {
                    f.active = true;
                    f.domains_verified = 0
                },
                step: Step::Domains,
                want: false,
            },
            Case {
                name: "app not confirmed",
                change: |f| f.app_registered = false,
                step: Step::EnterpriseApp,
                want: false,
            },
            Case {
                name: "admins group missing",
                change: |f| f.admins_group_complete = false,
                step: Step::GroupMapping,
                want: false,
            },
            Case {
                name: "desktop group missing",
                change: |f| f.desktop_group_complete = false,
                step: Step::GroupMapping,
                want: false,
            },
            Case {
                name: "no entity id",
                change: |f| f.idp_entity_id_set = false,
                step: Step::Saml,
                want: false,
            },
            Case {
                name: "no SSO URL",
                change: |f| f.idp_sso_url_set = false,
                step: Step::Saml,
                want: false,
            },
            Case {
                name: "no valid certificate",
                change: |f| f.valid_certificates = 0,
                step: Step::Saml,
                want: false,
            },
            Case {
                name: "SCIM on, not confirmed",
                change: |f| f.scim_confirmed = false,
                step: Step::Scim,
                want: false,
            },
            Case {
                name: "SCIM off needs nothing",
                change: |f| {
                    f.scim_enabled = false;
                    f.scim_confirmed = false
                },
                step: Step::Scim,
                want: true,
            },
            Case {
                name: "users not added",
                change: |f| f.users_added = false,
                step: Step::UsersAdded,
                want: false,
            },
            Case {
                name: "no backup login",
                change: |f| f.backup_login_set = false,
                step: Step::BackupLogin,
                want: false,
            },
        ];
        for c in cases {
            let mut f = all_done();
            (c.change)(&mut f);
            assert_eq!(step_done(c.step, &f), c.want, "{}", c.name);
            // the other steps are unaffected
            for other in Step::ALL.iter().filter(|s| **s != c.step) {
                assert!(step_done(*other, &f), "{}: {:?} turned grey", c.name, other);
            }
            assert_eq!(can_activate(&f), c.want, "{}: activation", c.name);
        }
    }

    #[test]
    fn a_fresh_integration_has_no_green_card() {
        let f = Facts {
            scim_enabled: true,
            ..Facts::default()
        };
        assert_eq!(evaluate(&f), [false; 7]);
        assert!(!can_activate(&f));
        assert!(can_activate(&all_done()));
    }

    #[test]
    fn steps_are_numbered_one_to_seven() {
        let numbers: Vec<usize> = Step::ALL.iter().map(|s| s.number()).collect();
        assert_eq!(numbers, [1, 2, 3, 4, 5, 6, 7]);
        assert!(Step::ALL
            .iter()
            .all(|s| !s.title().is_empty() && !s.blurb().is_empty()));
    }
}
