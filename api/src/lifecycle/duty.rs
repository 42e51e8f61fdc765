//! A volunteer going on or off duty.
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::entities::volunteer;
use crate::error::{ApiError, ApiResult};
use crate::messages::Push;
use crate::services::orders::Actor;
use crate::state::AppState;

use super::work::Work;

/// Puts the volunteer `actor` on or off duty; every index re-reads them and
/// the coordinators' live map is told.
pub async fn set_duty(state: &AppState, actor: Actor, on_duty: bool) -> ApiResult<()> {
    let id = actor.id.ok_or(ApiError::NotFound("volunteer"))?;
    let mut work = Work::begin(state, actor).await?;
    volunteer::Entity::update_many()
        .col_expr(volunteer::Column::OnDuty, Expr::value(on_duty))
        .col_expr(volunteer::Column::UpdatedAt, Expr::value(work.now()))
        .filter(volunteer::Column::Id.eq(id))
        .exec(&work.txn)
        .await?;
    let mut told = work.trail();
    let push = Push::VolunteerDuty {
        volunteer_id: id,
        on_duty,
    };
    told.push(work.channels().ops(), &push);
    told.write(&work.txn).await?;
    work.changed(&[id]);
    work.commit().await
}
