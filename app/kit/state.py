"""Dependencies on what the lifespan put on `app.state` (settings, signals)."""

from typing import Annotated

from fastapi import Depends, Request

from app.config import Settings
from app.kit.signals import Signals


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _signals(request: Request) -> Signals:
    signals: Signals = request.app.state.signals
    return signals


SettingsDep = Annotated[Settings, Depends(_settings)]
SignalsDep = Annotated[Signals, Depends(_signals)]
