//! Orders (点单) and what people do with them: the route table here, the
//! handlers by what they are for in the files beside it.
use actix_web::web;

mod field;
mod list;
mod manage;
mod place;
mod thread;
mod views;

pub use field::*;
pub use list::*;
pub use manage::*;
pub use place::*;
pub use thread::*;
pub use views::*;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/orders")
            .route(web::get().to(list_orders))
            .route(web::post().to(create_order)),
    )
    .route("/orders/{id}", web::get().to(get_order))
    .route("/orders/{id}/grab", web::post().to(grab))
    .route("/orders/{id}/arrive", web::post().to(arrive))
    .route("/orders/{id}/complete", web::post().to(complete))
    .route("/orders/{id}/withdraw", web::post().to(withdraw))
    .route("/orders/{id}/cancel", web::post().to(cancel))
    .route("/orders/{id}/confirm", web::post().to(confirm))
    .route("/orders/{id}/assign", web::post().to(assign))
    .route("/orders/{id}/redispatch", web::post().to(redispatch))
    .service(
        web::resource("/orders/{id}/messages")
            .route(web::get().to(list_messages))
            .route(web::post().to(post_message)),
    )
    .route("/escalations", web::get().to(escalations))
    .route("/ops/index/{volunteer_id}", web::get().to(index_entry));
}
