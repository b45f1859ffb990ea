"""Liveness and readiness for the operator's process manager or load balancer."""

from flask import Blueprint, jsonify
from sqlalchemy import text

from api.extensions import db

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@blueprint.get("/readyz")
def readyz():
    db.session.execute(text("SELECT 1"))
    return jsonify({"status": "ready", "database": "ok"})
