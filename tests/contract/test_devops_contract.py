"""The DevOps adapter against a requests-mock DevOps, every request checked against the spec."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
import requests_mock as requests_mock_module

from intake import bootstrap, workflow
from intake.adapters import retry
from intake.adapters.devops import DevOpsWorkItems
from intake.errors import ExternalRejected, ExternalUnavailable, StaleWorkItem
from intake.inbound_mail import InboundAttachment
from intake.models import Comment, Identity, RequestStatus, WorkItemDraft
from tests.conftest import SAMPLE
from tests.contract.devops_double import DevOpsDouble
from tests.contract.devops_spec import check_json_patch, check_request
from tests.fakes import FakeWorld

pytestmark = pytest.mark.contract

CLIENT = ("Jordan Rivera", "jordan.rivera@fabrikam.example")
AUTHORITY = "https://login.sovereign.example"
TENANT = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
def double(requests_mock: requests_mock_module.Mocker) -> DevOpsDouble:
    double = DevOpsDouble().install(requests_mock)
    double.add_identity(*CLIENT)
    return double


@pytest.fixture
def work_items(double: DevOpsDouble) -> DevOpsWorkItems:
    return DevOpsWorkItems(double.settings())


def draft(title: str = "Invoices time out", **values: Any) -> WorkItemDraft:
    return WorkItemDraft(
        type="Issue", title=title, description_html="<p>It times out.</p>", **values
    )


def assert_spec_allows_every_request(
    mocker: requests_mock_module.Mocker, double: DevOpsDouble
) -> None:
    problems = [
        problem
        for request in mocker.request_history
        if request.url.startswith(("https://dev.azure.com", "https://vssps.dev.azure.com"))
        for problem in check_request(request, double.org_url, double.vssps_url)
    ]
    assert problems == []


def calls(mocker: requests_mock_module.Mocker, double: DevOpsDouble) -> list[str]:
    """Method and path of each DevOps request, without the discovery calls."""
    found = []
    for request in mocker.request_history:
        path = request.path.removeprefix(f"/{double.org.lower()}")
        if request.method != "OPTIONS" and "resourceareas" not in path:
            found.append(f"{request.method} {path}")  # requests-mock lowercases paths
    return found


# --- a full intake run ----------------------------------------------------------------------


def test_a_full_intake_run_sends_only_requests_the_spec_allows(requests_mock, double, tmp_path):
    settings = double.settings(data_dir=tmp_path)
    world = FakeWorld(settings)
    services = bootstrap.build(
        settings, store=world.store, queue=world.queue, mailer=world.mailer, channel=world.channel
    )
    assert isinstance(services.work_items, DevOpsWorkItems)  # bootstrap picks the real one

    receipt = workflow.submit_request(json.dumps(SAMPLE).encode(), "application/json", services)
    record = workflow.run_steps(receipt.request_id, services)

    assert record.status == RequestStatus.DONE, record.last_error
    (work_item_id,) = double.work_items
    fields = double.work_items[work_item_id]["fields"]
    assert fields["System.State"] == "In Planning"
    assert fields["System.Title"] == "Invoices page times out for EU customers"
    assert fields["Microsoft.VSTS.Common.Priority"] == 2
    assert fields["Custom.ClientEmail"] == CLIENT[1]
    assert fields["Custom.IntakeRequestId"] == receipt.request_id
    assert fields["System.Tags"] == "intake; Production support"  # no tag of its own
    (comment,) = double.comments[work_item_id]
    assert '<a href="#" data-vss-mention="version:2.0,' in comment["text"]
    assert len(world.mailer.sent) == 2  # the client has a DevOps identity: no planning email
    assert record.result(record_step("create_work_item"))["url"].endswith(
        f"/Intake/_workitems/edit/{work_item_id}"
    )
    assert_spec_allows_every_request(requests_mock, double)
    assert all(r.timeout == retry.DEFAULT_TIMEOUT for r in requests_mock.request_history)
    # A first run cannot find anything of its own, so it looks for nothing: one call per
    # effect, plus the client's identity.
    assert sorted(calls(requests_mock, double)) == [
        "GET /_apis/identities",
        "PATCH /intake/_apis/wit/workitems/101",  # New -> In Planning behind test /rev
        "POST /intake/_apis/wit/workitems/$issue",
        "POST /intake/_apis/wit/workitems/101/comments",
    ]


def test_a_second_run_looks_for_what_the_first_may_have_done(requests_mock, double, tmp_path):
    settings = double.settings(data_dir=tmp_path)
    world = FakeWorld(settings)
    services = bootstrap.build(
        settings, store=world.store, queue=world.queue, mailer=world.mailer, channel=world.channel
    )
    receipt = workflow.submit_request(json.dumps(SAMPLE).encode(), "application/json", services)
    double.fail("POST", r"/comments$", 503, times=4)  # the comment cannot be added this run
    with pytest.raises(ExternalUnavailable):
        workflow.run_steps(receipt.request_id, services)
    first_run = len(calls(requests_mock, double))

    record = workflow.run_steps(receipt.request_id, services)

    assert record.status == RequestStatus.DONE, record.last_error
    assert len(double.comments[101]) == 1
    # The first run may have added it after all: the second looks before it adds.
    assert calls(requests_mock, double)[first_run:] == [
        "GET /intake/_apis/wit/workitems/101/comments",
        "POST /intake/_apis/wit/workitems/101/comments",
    ]


def record_step(name: str) -> Any:
    from intake.models import Step

    return Step(name)


def test_every_port_method_sends_only_requests_the_spec_allows(requests_mock, double, work_items):
    pbi = work_items.create(draft(priority=3, area_path="Intake\\Support"), key="r1")
    issue = work_items.create(draft("Second"), key="r2")
    assert work_items.find_created("r2") == issue
    work_items.set_state(pbi.id, "In Planning")
    work_items.update(
        pbi.id, fields={"Microsoft.VSTS.Common.Priority": 1}, add_tags=("sprint-urgent",)
    )
    work_items.add_link(pbi.id, issue.id, "System.LinkTypes.Related")
    identity = work_items.find_identity(CLIENT[1])
    work_items.add_comment(pbi.id, Comment(key="k1", html="<p>Hello</p>", mention=identity))
    assert work_items.current_iteration() is not None
    assert work_items.get(pbi.id).state == "In Planning"

    assert_spec_allows_every_request(requests_mock, double)
    methods = {
        (r.method, r.headers.get("Accept", "").split("=")[-1])
        for r in requests_mock.request_history
    }
    assert ("POST", "7.1") in methods and ("POST", "7.1-preview.4") in methods


def test_the_spec_checker_catches_requests_the_spec_does_not_allow(double):
    org = double.org_url

    def request(method: str, url: str, body: Any = None, **headers: str) -> Any:
        return SimpleNamespace(
            method=method,
            url=url,
            body=None if body is None else json.dumps(body),
            headers={"Accept": "application/json;api-version=7.1", **headers},
        )

    patch = {"Content-Type": "application/json-patch+json"}
    good = request(
        "PATCH",
        f"{org}/Intake/_apis/wit/workitems/7",
        [{"op": "test", "path": "/rev", "value": 3}],
        **patch,
    )
    assert check_request(good, org, double.vssps_url) == []
    bad = [
        request("PUT", f"{org}/Intake/_apis/wit/workitems/7", [], **patch),  # no such method
        request("GET", f"{org}/Intake/_apis/wit/tickets/7"),  # no such path
        request(
            "GET",
            f"{org}/Intake/_apis/wit/workitems/7",
            Accept="application/json;api-version=7.1-preview.3",
        ),
        request(
            "GET",
            f"{org}/Intake/_apis/wit/workItems/7/comments",
            Accept="application/json;api-version=7.1",
        ),
        request("GET", f"{org}/Intake/_apis/wit/workitems/7?includeEverything=true"),
        request(
            "PATCH",
            f"{org}/Intake/_apis/wit/workitems/7",
            [{"op": "add", "path": "/fields/System.Title", "value": "x"}],
            **{"Content-Type": "application/json"},
        ),
        request(
            "PATCH",
            f"{org}/Intake/_apis/wit/workitems/7",
            [{"op": "merge", "path": "/fields/System.Title", "value": "x"}],
            **patch,
        ),
        request(
            "PATCH",
            f"{org}/Intake/_apis/wit/workitems/7",
            [{"op": "add", "path": "/title", "value": "x"}],
            **patch,
        ),
        request(
            "POST",
            f"{org}/Intake/Intake Team/_apis/wit/wiql",
            {"query": 42},
            **{"Content-Type": "application/json"},
        ),
    ]
    for each in bad:
        assert check_request(each, org, double.vssps_url) != [], (each.method, each.url)
    assert check_json_patch([{"op": "replace", "path": "/rev", "value": 1}]) != []


# --- revisions, retries, errors ---------------------------------------------------------------


def test_a_412_on_the_rev_test_reads_again_and_retries_once(requests_mock, double, work_items):
    ref = work_items.create(draft(), key="r1")
    double.edit_meanwhile(ref.id, times=1)

    work_items.set_state(ref.id, "In Planning")

    assert double.work_items[ref.id]["fields"]["System.State"] == "In Planning"
    # The first PATCH uses the work item as created (no read); the 412 forces a fresh read.
    assert [c.split(" ")[0] for c in calls(requests_mock, double)][-3:] == ["PATCH", "GET", "PATCH"]
    assert [status for method, _, status in double.answers if method == "PATCH"] == [412, 200]


def test_a_state_change_right_after_create_needs_no_read(requests_mock, double, work_items):
    ref = work_items.create(draft(), key="r1")
    work_items.set_state(ref.id, "In Planning")
    assert double.work_items[ref.id]["fields"]["System.State"] == "In Planning"
    assert [c.split(" ")[0] for c in calls(requests_mock, double)] == ["POST", "PATCH"]


def test_a_work_item_this_worker_did_not_write_is_read_before_it_is_changed(
    requests_mock, double, work_items
):
    ref = work_items.create(draft(), key="r1")
    other_worker = DevOpsWorkItems(double.settings())
    other_worker.set_state(ref.id, "In Planning")
    work_items.set_state(ref.id, "In Planning")  # its copy is stale: 412, read, nothing to do
    assert double.work_items[ref.id]["fields"]["System.State"] == "In Planning"
    assert double.work_items[ref.id]["rev"] == 2
    assert [c.split(" ")[0] for c in calls(requests_mock, double)] == [
        "POST",
        "GET",
        "PATCH",
        "PATCH",
        "GET",
    ]


def test_a_first_attempt_comment_is_added_without_looking_and_a_retry_looks(
    requests_mock, double, work_items
):
    ref = work_items.create(draft(), key="r1")
    double.fail("POST", r"/comments$", 503, after=True)  # added, but the answer is lost
    comment = Comment(key="intake-r1-tell", html="We will triage this.", first_attempt=True)

    comment_id = work_items.add_comment(ref.id, comment)

    (stored,) = double.comments[ref.id]
    assert comment_id == stored["id"]
    assert [c.split(" ")[0] for c in calls(requests_mock, double) if "comments" in c] == [
        "POST",
        "GET",
    ]


def test_a_second_412_raises_stale_work_item(double, work_items):
    ref = work_items.create(draft(), key="r1")
    double.edit_meanwhile(ref.id, times=2)
    with pytest.raises(StaleWorkItem) as caught:
        work_items.update(ref.id, fields={"Microsoft.VSTS.Common.Priority": 1})
    assert caught.value.remote_status == 412
    assert "TestPatchOperationFailedException" in caught.value.detail


def test_a_429_is_retried_after_the_time_it_asks_for(requests_mock, double, work_items, caplog):
    double.fail("POST", r"/_apis/wit/workitems/\$", 429, headers={"Retry-After": "7"})
    ref = work_items.create(draft(), key="r1")
    assert list(double.work_items) == [ref.id]
    assert "again in 7.0s" in caplog.text


def test_a_create_whose_answer_was_lost_is_not_created_twice(double, work_items):
    double.fail("POST", r"/_apis/wit/workitems/\$", 503, after=True)
    ref = work_items.create(draft(), key="r1")
    assert list(double.work_items) == [ref.id]


def test_5xx_until_the_retries_run_out_raises_external_unavailable(
    requests_mock, double, work_items
):
    ref = work_items.create(draft(), key="r1")
    double.fail("GET", rf"/workitems/{ref.id}$", 503, times=10)
    with pytest.raises(ExternalUnavailable) as caught:
        work_items.get(ref.id)
    assert caught.value.remote_status == 503
    gets = [
        r
        for r in requests_mock.request_history
        if r.method == "GET" and r.path.endswith(f"/{ref.id}")
    ]
    assert len(gets) == retry.MAX_ATTEMPTS


def test_a_rejected_pat_raises_external_rejected_without_the_pat(requests_mock):
    double = DevOpsDouble(pat="the-real-pat").install(requests_mock)
    work_items = DevOpsWorkItems(double.settings(devops_pat="a-wrong-pat-0123456789"))
    with pytest.raises(ExternalRejected) as caught:
        work_items.find_created("r1")
    assert caught.value.remote_status == 401
    assert "TF400813" in str(caught.value)
    assert "a-wrong-pat" not in str(caught.value) and "a-wrong-pat" not in repr(
        caught.value.__dict__
    )


def test_a_missing_work_item_raises_external_rejected_404(double, work_items):
    with pytest.raises(ExternalRejected) as caught:
        work_items.get(999)
    assert caught.value.remote_status == 404
    assert "does not exist" in caught.value.detail


def test_an_unreachable_organisation_raises_external_unavailable(requests_mock, double):
    import requests

    requests_mock.options(double.org_url + "/_apis", exc=requests.exceptions.ConnectTimeout)
    with pytest.raises(ExternalUnavailable):
        DevOpsWorkItems(double.settings()).find_created("r1")


# --- comments, identities, tags, iterations -------------------------------------------------


def test_identities_are_looked_up_once_per_email(requests_mock, work_items):
    first = work_items.find_identity("Jordan.Rivera@fabrikam.example")
    second = work_items.find_identity("jordan.rivera@fabrikam.example")
    assert first == second == Identity(first.id, "Jordan Rivera", CLIENT[1])
    assert work_items.find_identity("nobody@example.com") is None
    lookups = [r for r in requests_mock.request_history if "/_apis/identities" in r.path.lower()]
    assert len(lookups) == 2
    assert lookups[0].qs["searchfilter"] == ["general"]


def test_a_mention_comment_is_the_notifying_markup_and_is_added_once(double, work_items):
    ref = work_items.create(draft(), key="r1")
    client = work_items.find_identity(CLIENT[1])
    comment = Comment(key="intake-r1-tell", html="We will triage <b>this</b>.", mention=client)

    first = work_items.add_comment(ref.id, comment)
    again = work_items.add_comment(ref.id, comment)

    (stored,) = double.comments[ref.id]
    assert first == again == stored["id"]
    assert (
        f'<a href="#" data-vss-mention="version:2.0,{client.id}">@Jordan Rivera</a> '
        "We will triage <b>this</b>."
    ) in stored["text"]


def test_a_comment_is_found_again_even_if_devops_drops_our_key_attribute(double, work_items):
    double.keeps_data_attributes = False
    ref = work_items.create(draft(), key="r1")
    comment = Comment(key="intake-r1-vote", html="Alex voted <i>Proceed</i>.")
    work_items.add_comment(ref.id, comment)
    work_items.add_comment(ref.id, comment)
    assert len(double.comments[ref.id]) == 1
    assert "data-intake-key" not in double.comments[ref.id][0]["text"]


def test_a_created_item_carries_its_key_in_the_request_id_field_and_no_tag_of_its_own(
    requests_mock, double, work_items
):
    work_items.create(draft(tags=("intake", "Incident")), key="0123456789abcdef/pbi")
    (create,) = [r for r in requests_mock.request_history if r.method == "POST" and "$" in r.path]
    document = json.loads(create.body)
    assert check_json_patch(document) == []  # the create's body, against the spec's schema
    values = {op["path"]: op["value"] for op in document}
    assert values["/fields/Custom.IntakeRequestId"] == "0123456789abcdef/pbi"
    assert values["/fields/System.Tags"] == "intake; Incident"  # what people filter by, only
    assert_spec_allows_every_request(requests_mock, double)


def test_find_created_asks_wiql_for_the_request_id_field(requests_mock, double, work_items):
    first = work_items.create(draft(), key="r1")
    work_items.create(draft(), key="r1/pbi")
    assert work_items.find_created("r1") == first
    assert work_items.find_created("r3") is None
    wiql = [
        json.loads(r.body)["query"]
        for r in requests_mock.request_history
        if r.path.endswith("/wiql")
    ]
    assert "[Custom.IntakeRequestId] = 'r1'" in wiql[0]
    assert_spec_allows_every_request(requests_mock, double)


def test_a_quote_in_a_key_cannot_change_the_query(requests_mock, double, work_items):
    work_items.create(draft(), key="r1")
    assert work_items.find_created("x' OR [System.Id] > '0") is None
    (wiql,) = [
        json.loads(r.body)["query"] for r in requests_mock.request_history if "wiql" in r.path
    ]
    assert "= 'x'' OR [System.Id] > ''0'" in wiql


def test_an_item_made_before_the_field_is_still_found_by_its_old_tag(
    requests_mock, double, work_items
):
    # As an earlier version made it: the unique tag, no request id field.
    double.work_items[77] = {
        "rev": 1,
        "relations": [],
        "fields": {"System.WorkItemType": "Issue", "System.Tags": "intake-r9; intake"},
    }
    assert work_items.find_created("r9") is None
    assert work_items.find_created("r9", legacy_tag="intake-r9").id == 77
    wiql = [json.loads(r.body)["query"] for r in requests_mock.request_history if "wiql" in r.path]
    assert "[Custom.IntakeRequestId] = 'r9'" in wiql[-2]
    assert "[System.Tags] CONTAINS 'intake-r9'" in wiql[-1]
    assert_spec_allows_every_request(requests_mock, double)


def test_a_retried_create_finds_the_item_by_its_field_instead_of_creating_it_again(
    requests_mock, double, work_items
):
    double.fail("POST", r"/workitems/\$Issue", 503, after=True)  # made, then the answer lost
    ref = work_items.create(draft(), key="r1")
    assert list(double.work_items) == [ref.id]


def test_the_current_iteration_comes_from_team_settings(requests_mock, double):
    work_items = DevOpsWorkItems(double.settings(devops_team="Support Team"))
    assert work_items.current_iteration().name == "Sprint 7"
    double.iterations = []
    assert work_items.current_iteration() is None
    (read, _) = [r for r in requests_mock.request_history if "teamsettings" in r.path]
    assert read.path.endswith("/intake/support%20team/_apis/work/teamsettings/iterations")
    assert read.qs["$timeframe"] == ["current"]


def test_links_are_added_once(double, work_items):
    source = work_items.create(draft(), key="r1")
    target = work_items.create(draft(), key="r2")
    work_items.add_link(source.id, target.id, "System.LinkTypes.Hierarchy-Forward")
    work_items.add_link(source.id, target.id, "System.LinkTypes.Hierarchy-Forward")
    (relation,) = double.work_items[source.id]["relations"]
    assert relation["url"] == f"{double.org_url}/_apis/wit/workItems/{target.id}"


def test_an_attachment_is_uploaded_and_linked_once_per_key(requests_mock, double, work_items):
    item = work_items.create(draft(), key="r1")
    screenshot = InboundAttachment("screen shot.png", "image/png", 7, b"\x89PNG\r\n")
    url = work_items.add_attachment(item.id, screenshot, key="reply:<m1@x>:1")
    again = work_items.add_attachment(item.id, screenshot, key="reply:<m1@x>:1")

    assert again == url
    ((name, content),) = double.attachments.values()
    assert (name, content) == ("screen shot.png", b"\x89PNG\r\n")
    (relation,) = double.work_items[item.id]["relations"]
    assert relation["rel"] == "AttachedFile" and relation["url"] == url
    assert relation["attributes"] == {"comment": "intake:reply:<m1@x>:1", "name": "screen shot.png"}
    uploads = [c for c in calls(requests_mock, double) if c.startswith("POST") and "attach" in c]
    assert uploads == ["POST /intake/_apis/wit/attachments"]
    assert_spec_allows_every_request(requests_mock, double)


def test_an_attachment_whose_link_failed_is_linked_by_the_retry(requests_mock, double, work_items):
    item = work_items.create(draft(), key="r1")
    screenshot = InboundAttachment("log.txt", "text/plain", 3, b"abc")
    double.fail("PATCH", rf"/_apis/wit/workItems/{item.id}$", 400)
    with pytest.raises(ExternalRejected):
        work_items.add_attachment(item.id, screenshot, key="k1")
    assert double.work_items[item.id]["relations"] == []
    url = work_items.add_attachment(item.id, screenshot, key="k1")
    (relation,) = double.work_items[item.id]["relations"]
    assert relation["url"] == url
    assert_spec_allows_every_request(requests_mock, double)


# --- auth ---------------------------------------------------------------------------------------


def test_a_pat_is_sent_as_basic_auth(requests_mock, double, work_items):
    work_items.find_created("r1")
    sent = {
        r.headers.get("Authorization")
        for r in requests_mock.request_history
        if r.method != "OPTIONS"
    }
    assert sent == double.accepted


def token_endpoint(requests_mock, token: str = "sp-token-1", expires_in: int = 3600) -> Any:
    base = f"{AUTHORITY}/{TENANT}"
    requests_mock.get(
        f"{base}/v2.0/.well-known/openid-configuration",
        json={
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "issuer": f"{base}/v2.0",
        },
    )
    return requests_mock.post(
        f"{base}/oauth2/v2.0/token",
        json={"token_type": "Bearer", "access_token": token, "expires_in": expires_in},
    )


def service_principal(double: DevOpsDouble) -> Any:
    return double.settings(
        devops_pat="",
        devops_tenant_id=TENANT,
        devops_client_id="app-id-of-intake",
        devops_client_secret="a-client-secret-value",
        login_authority=AUTHORITY,
    )


def test_a_service_principal_gets_one_token_from_the_configured_authority(requests_mock, double):
    tokens = token_endpoint(requests_mock)
    double.accept_bearer("sp-token-1")
    work_items = DevOpsWorkItems(service_principal(double))

    work_items.create(draft(), key="r1")
    work_items.find_created("r1")

    assert tokens.call_count == 1
    form = tokens.last_request.text
    assert "scope=499b84ac-1321-427f-aa17-267ca6975798%2F.default" in form
    assert "client_id=app-id-of-intake" in form
    devops = [
        r
        for r in requests_mock.request_history
        if "dev.azure.com" in r.url and r.method != "OPTIONS"
    ]
    assert {r.headers["Authorization"] for r in devops} == {"Bearer sp-token-1"}


def test_a_token_about_to_expire_is_renewed(requests_mock, double):
    tokens = token_endpoint(requests_mock, expires_in=60)  # msal treats <5 min as expired
    double.accept_bearer("sp-token-1")
    work_items = DevOpsWorkItems(service_principal(double))
    work_items.find_created("r1")
    work_items.find_created("r1")
    assert tokens.call_count >= 2


def test_a_refused_token_raises_external_rejected_without_the_secret(requests_mock, double):
    base = f"{AUTHORITY}/{TENANT}"
    token_endpoint(requests_mock)
    requests_mock.post(
        f"{base}/oauth2/v2.0/token",
        status_code=401,
        json={"error": "invalid_client", "error_description": "AADSTS7000215: bad secret"},
    )
    with pytest.raises(ExternalRejected) as caught:
        DevOpsWorkItems(service_principal(double)).find_created("r1")
    assert "invalid_client" in str(caught.value)
    assert "a-client-secret-value" not in str(caught.value)


# --- closing the loop (issue 15): the coming sprints, the states' categories -----------------
def test_the_coming_iterations_come_from_team_settings_future(requests_mock, double):
    work_items = DevOpsWorkItems(double.settings(devops_team="Support Team"))
    assert [(i.name, i.path) for i in work_items.coming_iterations()] == [
        ("Sprint 8", "Intake\\Sprint 8")
    ]
    (read,) = [r for r in requests_mock.request_history if "teamsettings" in r.path]
    assert read.path.endswith("/intake/support%20team/_apis/work/teamsettings/iterations")
    assert read.qs["$timeframe"] == ["future"]
    double.future_iterations = []
    assert work_items.coming_iterations() == []


def test_state_categories_are_read_once_per_type(requests_mock, double, work_items):
    categories = work_items.state_categories("Product Backlog Item")
    assert categories["Done"] == "Completed" and categories["Committed"] == "InProgress"
    assert work_items.state_categories("Product Backlog Item") == categories
    reads = [r for r in requests_mock.request_history if r.path.endswith("/states")]
    assert len(reads) == 1
    assert "/_apis/wit/workitemtypes/product%20backlog%20item/states" in reads[0].path
