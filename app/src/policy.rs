//! Who may do what: the one place that decides. Every server function and route asks
//! `allows` before acting; the authorization matrix test walks every cell.

use crate::accounts::CurrentUser;
use serde::{Deserialize, Serialize};

/// A member's role in one group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    Member,
    Organizer,
}

impl Role {
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "member" => Some(Role::Member),
            "organizer" => Some(Role::Organizer),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Organizer => "organizer",
        }
    }
}

/// Who is asking: the logged-in member (if any) and their role in the group concerned.
#[derive(Clone, Copy, Debug)]
pub struct Actor<'a> {
    pub user: Option<&'a CurrentUser>,
    pub role: Option<Role>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// See a group's public page and its meetups.
    ViewGroup,
    JoinGroup,
    LeaveGroup,
    /// See who belongs to a group.
    ViewMembers,
    /// Make a member an organizer.
    PromoteMember,
    /// Read and change one's own account, export and delete it.
    ManageOwnAccount,
    /// Open a new group on this instance.
    CreateGroup,
    /// See and steer the instance's machinery (the job queue, the e-mail outbox).
    AdministerInstance,
    /// Answer yes / maybe / no to a group's meetup.
    Rsvp,
    /// See who is coming, talk in the comments, propose a talk.
    TakePart,
    /// Create, edit, cancel and duplicate meetups; see the organizer view, export the
    /// attendee list, check members in, decide on talks, hide comments.
    ManageEvents,
    /// Log, read, change and export one's own observations and metrics.
    Track,
    /// Share one's own metric with a group one belongs to.
    ShareWithGroup,
}

/// The one access check of server functions: `Ok` when the policy allows `action` to
/// `actor`, else the refusal to answer with (401 for a visitor who is not logged in, 403
/// for everyone else), so that `require(actor, action)?` replaces an `if !allows` block.
#[cfg(feature = "ssr")]
pub fn require(actor: Actor<'_>, action: Action) -> Result<(), crate::errors::AppError> {
    match (allows(actor, action), actor.user) {
        (true, _) => Ok(()),
        (false, None) => Err(crate::errors::unauthorized()),
        (false, Some(_)) => Err(crate::errors::forbidden()),
    }
}

pub fn allows(actor: Actor<'_>, action: Action) -> bool {
    let logged_in = actor.user.is_some();
    let admin = actor.user.is_some_and(|user| user.is_admin);
    match action {
        Action::ViewGroup => true,
        Action::JoinGroup => logged_in && actor.role.is_none(),
        Action::LeaveGroup => logged_in && actor.role.is_some(),
        Action::ViewMembers => actor.role.is_some() || admin,
        Action::PromoteMember => actor.role == Some(Role::Organizer) || admin,
        Action::ManageOwnAccount => logged_in,
        Action::CreateGroup | Action::AdministerInstance => admin,
        Action::Rsvp | Action::TakePart => logged_in && actor.role.is_some(),
        Action::ManageEvents => logged_in && (actor.role == Some(Role::Organizer) || admin),
        Action::Track => logged_in,
        Action::ShareWithGroup => logged_in && actor.role.is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(is_admin: bool) -> CurrentUser {
        CurrentUser {
            id: 1,
            email: "a@b.org".into(),
            display_name: "A".into(),
            time_zone: "UTC".into(),
            is_admin,
        }
    }

    #[test]
    fn members_take_part_and_organizers_manage_meetups() {
        let (member, admin) = (user(false), user(true));
        let ask = |user, role, action| allows(Actor { user, role }, action);
        assert!(!ask(None, None, Action::Rsvp));
        assert!(!ask(Some(&member), None, Action::Rsvp));
        assert!(ask(Some(&member), Some(Role::Member), Action::Rsvp));
        assert!(ask(Some(&member), Some(Role::Member), Action::TakePart));
        assert!(!ask(
            Some(&member),
            Some(Role::Member),
            Action::ManageEvents
        ));
        assert!(ask(
            Some(&member),
            Some(Role::Organizer),
            Action::ManageEvents
        ));
        assert!(ask(Some(&admin), None, Action::ManageEvents));
        assert!(!ask(Some(&admin), None, Action::Rsvp));
    }

    #[test]
    fn only_organizers_and_admins_promote() {
        let (member, admin) = (user(false), user(true));
        let ask = |user, role| allows(Actor { user, role }, Action::PromoteMember);
        assert!(!ask(None, None));
        assert!(!ask(Some(&member), None));
        assert!(!ask(Some(&member), Some(Role::Member)));
        assert!(ask(Some(&member), Some(Role::Organizer)));
        assert!(ask(Some(&admin), None));
    }

    #[test]
    fn anyone_sees_a_group_but_only_members_see_who_is_in_it() {
        let member = user(false);
        assert!(allows(
            Actor {
                user: None,
                role: None
            },
            Action::ViewGroup
        ));
        assert!(!allows(
            Actor {
                user: None,
                role: None
            },
            Action::ViewMembers
        ));
        assert!(!allows(
            Actor {
                user: Some(&member),
                role: None
            },
            Action::ViewMembers
        ));
        assert!(allows(
            Actor {
                user: Some(&member),
                role: Some(Role::Member)
            },
            Action::ViewMembers
        ));
    }
}
