"""The static status page, as a pipeline: read the store once (`read_page_data`), build
plain views from it (`build`, pure, given `now`), render them to bytes (`render`) and swap
the files into `site_dir` (`publish`)."""

from __future__ import annotations

from monitor.page.build import AccountData, PageData, build, read_page_data
from monitor.page.overview import SiteView
from monitor.page.publish import PublishReport, publish, write_atomically
from monitor.page.render import STATUS_SCHEMA_VERSION, PublishError, render

__all__ = [
    "STATUS_SCHEMA_VERSION",
    "AccountData",
    "PageData",
    "PublishError",
    "PublishReport",
    "SiteView",
    "build",
    "publish",
    "read_page_data",
    "render",
    "write_atomically",
]
