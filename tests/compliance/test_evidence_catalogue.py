"""Control catalogues: each framework's file loads, cites exactly the IDs and titles verified
in rasad's regulatory research (the list below, checked against the research itself by
``benchmarks/governance_docs.py --regulation PATH``), and a malformed catalogue is refused
with a message naming the problem.
"""

from __future__ import annotations

import pytest

from rasad.compliance.controls import (
    Catalogue,
    EvidenceKind,
    frameworks,
    load_catalogue,
    parse_catalogue,
)
from rasad.errors import ConfigError, NotFoundError

VERIFIED: dict[str, tuple[tuple[str, str], ...]] = {
    "eu-ai-act": (
        ('Art. 4', 'AI literacy'),
        ('Art. 6 + Annex III', 'Classification rules for high-risk AI systems'),
        ('Art. 9', 'Risk management system'),
        ('Art. 10', 'Data and data governance'),
        ('Art. 11 + Annex IV', 'Technical documentation'),
        ('Art. 12', 'Record-keeping'),
        ('Art. 13', 'Transparency and provision of information to deployers'),
        ('Art. 14', 'Human oversight'),
        ('Art. 15', 'Accuracy, robustness and cybersecurity'),
        ('Art. 17', 'Quality management system'),
        ('Art. 18', 'Documentation keeping'),
        ('Art. 19', 'Automatically generated logs'),
        ('Art. 26', 'Obligations of deployers of high-risk AI systems'),
        ('Art. 27', 'Fundamental rights impact assessment for high-risk AI systems'),
        ('Art. 72',
         'Post-market monitoring by providers and post-market monitoring plan '
         'for high-risk AI systems'),
        ('Art. 73', 'Reporting of serious incidents'),
        ('Art. 86', 'Right to explanation of individual decision-making'),
    ),
    "gdpr": (
        ('Art. 5', 'Principles relating to processing of personal data'),
        ('Art. 6', 'Lawfulness of processing'),
        ('Art. 7', 'Conditions for consent'),
        ('Art. 9', 'Processing of special categories of personal data'),
        ('Art. 12',
         'Transparent information, communication and modalities for the exercise '
         'of the rights of the data subject'),
        ('Art. 13 / Art. 14',
         'Information to be provided where personal data are collected from the '
         'data subject / … have not been obtained from the data subject'),
        ('Art. 15', 'Right of access by the data subject'),
        ('Art. 16', 'Right to rectification'),
        ('Art. 17', "Right to erasure ('right to be forgotten')"),
        ('Art. 18 / 21', 'Right to restriction of processing / Right to object'),
        ('Art. 20', 'Right to data portability'),
        ('Art. 22', 'Automated individual decision-making, including profiling'),
        ('Art. 24', 'Responsibility of the controller'),
        ('Art. 25', 'Data protection by design and by default'),
        ('Art. 28', 'Processor'),
        ('Art. 30', 'Records of processing activities'),
        ('Art. 32', 'Security of processing'),
        ('Art. 33 / 34',
         'Notification of a personal data breach to the supervisory authority / '
         'Communication of a personal data breach to the data subject'),
        ('Art. 35', 'Data protection impact assessment'),
        ('Art. 36', 'Prior consultation'),
        ('Art. 44 / 45 / 46',
         'General principle for transfers / Transfers on the basis of an '
         'adequacy decision / Transfers subject to appropriate safeguards'),
    ),
    "nca-ecc": (
        ('1-3', 'Cybersecurity Policies and Procedures'),
        ('1-5', 'Cybersecurity Risk Management'),
        ('1-6', 'Cybersecurity in Information and Technology Project Management'),
        ('1-8', 'Periodical Cybersecurity Review and Audit'),
        ('1-9', 'Cybersecurity in Human Resources'),
        ('2-1', 'Asset Management'),
        ('2-2', 'Identity and Access Management'),
        ('2-3', 'Information System and Processing Facilities Protection'),
        ('2-5', 'Networks Security Management'),
        ('2-7', 'Data and Information Protection'),
        ('2-8', 'Cryptography'),
        ('2-9', 'Backup and Recovery Management'),
        ('2-10', 'Vulnerabilities Management'),
        ('2-11', 'Penetration Testing'),
        ('2-12', 'Cybersecurity Event Logs and Monitoring Management'),
        ('2-13', 'Cybersecurity Incident and Threat Management'),
        ('2-15', 'Web Application Security'),
        ('3-1', 'Cybersecurity Resilience Aspects of Business Continuity Management (BCM)'),
        ('4-1', 'Third-Party Cybersecurity'),
        ('4-2', 'Cloud Computing and Hosting Cybersecurity'),
    ),
    "pdpl": (
        ('PDPL Art. 4',
         'Data subject rights: informed, access, obtain a copy, correction, '
         'destruction'),
        ('PDPL Art. 5',
         'Consent (processing or change of purpose requires consent, unless the '
         'Law provides otherwise; consent can be withdrawn at any time)'),
        ('PDPL Art. 6', 'Cases in which processing without consent is allowed'),
        ('PDPL Art. 8', 'Controller obligations when using processors'),
        ('PDPL Art. 10',
         'Collect directly from the data subject; listed exceptions (including '
         'legitimate interest with no sensitive data)'),
        ('PDPL Art. 11',
         'Purpose and collection limits (content limited to the minimum '
         'necessary; stop and destroy when no longer necessary)'),
        ('PDPL Art. 12 / 13', 'Privacy policy / information to give at collection'),
        ('PDPL Art. 14', 'Accuracy of personal data'),
        ('PDPL Art. 15', 'Disclosure only in listed situations'),
        ('PDPL Art. 18',
         'Destroy personal data without undue delay when no longer necessary; '
         'retention allowed if de-identified, if another law requires it, or if '
         'a judicial case needs it'),
        ('PDPL Art. 19',
         'Organisational, administrative and technical measures to protect '
         'personal data, including during transfer'),
        ('PDPL Art. 20',
         'Notify the competent authority of any breach, damage or illegal '
         'access; notify the data subject where harm is possible'),
        ('PDPL Art. 22',
         'Impact assessment of personal data processing for any product or '
         'service'),
        ('PDPL Art. 24',
         'Additional controls for credit data (explicit consent for collection, '
         'purpose change, disclosure or publishing; notify the subject of '
         'disclosure requests)'),
        ('PDPL Art. 27',
         'Processing for scientific, research or statistical purposes without '
         'consent (conditions)'),
        ('PDPL Art. 29',
         'Transfer or disclosure outside the Kingdom (allowed purposes; no '
         'prejudice to national security; adequate protection; minimum necessary '
         'data)'),
        ('PDPL Art. 31',
         'Records of processing activities (controller contact, purpose, '
         'categories of subjects, recipients, transfers abroad, retention '
         'period)'),
    ),
    "sama-csf": (
        ('3.1.5', 'Cyber Security in Project Management'),
        ('3.2.1', 'Cyber Security Risk Management'),
        ('3.2.4 / 3.2.5', 'Cyber Security Review / Cyber Security Audits'),
        ('3.3.1', 'Human Resources'),
        ('3.3.3', 'Asset Management'),
        ('3.3.5', 'Identity and Access Management'),
        ('3.3.6', 'Application Security'),
        ('3.3.7', 'Change Management'),
        ('3.3.9', 'Cryptography'),
        ('3.3.11', 'Secure Disposal of Information Assets'),
        ('3.3.14', 'Cyber Security Event Management'),
        ('3.3.15', 'Cyber Security Incident Management'),
        ('3.3.16 / 3.3.17', 'Threat Management / Vulnerability Management'),
        ('3.4.1', 'Contract and Vendor Management'),
        ('3.4.2', 'Outsourcing'),
        ('3.4.3', 'Cloud Computing'),
    ),
}
"""Every control ID and title, as verified (rows marked V-official or V-secondary)."""


def test_every_framework_of_the_issue_has_a_catalogue() -> None:
    assert frameworks() == sorted(VERIFIED)


@pytest.mark.parametrize("framework", sorted(VERIFIED))
def test_a_catalogue_cites_the_verified_ids_and_titles(framework: str) -> None:
    catalogue = load_catalogue(framework)
    assert catalogue.framework == framework
    assert tuple((c.id, c.title) for c in catalogue) == VERIFIED[framework]
    for control in catalogue:
        assert control.verification in ("official", "secondary")
        assert control.expects.strip()
        # A control rasad cannot evidence says why; one it can names at least one kind.
        assert control.evidence or (control.beyond or "").strip()


def test_every_evidence_kind_serves_some_control() -> None:
    used = {k for f in frameworks() for c in load_catalogue(f) for k in c.evidence}
    assert used == set(EvidenceKind)


GOOD = """
framework: demo
name: Demo framework
source: a test
controls:
  - id: "1"
    title: One
    verification: official
    expects: something
    evidence: [ledger]
"""


def test_a_well_formed_catalogue_parses() -> None:
    catalogue = parse_catalogue(GOOD, "demo.yaml", framework="demo")
    assert isinstance(catalogue, Catalogue)
    assert catalogue.control("1").evidence == (EvidenceKind.LEDGER,)
    with pytest.raises(NotFoundError, match="no control '9'.*its controls: 1"):
        catalogue.control("9")


@pytest.mark.parametrize(("text", "message"), [
    ("framework: [", "not valid YAML"),
    ("- a list", "the file: Input should be a valid dictionary"),
    (GOOD.replace("[ledger]", "[ledger, ledger]"), "evidence.*lists an evidence kind twice"),
    (GOOD.replace("[ledger]", "[telepathy]"), "evidence.0: Input should be"),
    (GOOD.replace("    evidence: [ledger]\n", ""), "lists no evidence kind and no `beyond`"),
    (GOOD.replace("verification: official", "verification: hearsay"), "verification"),
    (GOOD.replace("title: One", "title: ''"), "title"),
    (GOOD + "    extra: 1\n", "controls.0.extra: Extra inputs are not permitted"),
    (GOOD + GOOD[GOOD.index("  - id"):], "control '1' is listed twice"),
    (GOOD.replace("framework: demo", "framework: Demo Framework"), "lowercase"),
])
def test_a_malformed_catalogue_is_refused_naming_the_problem(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        parse_catalogue(text, "demo.yaml")
    assert "demo.yaml" in str(caught.value)


def test_a_catalogue_must_declare_its_file_name() -> None:
    with pytest.raises(ConfigError, match="declares framework 'demo'; it must be 'gdpr'"):
        parse_catalogue(GOOD, "gdpr.yaml", framework="gdpr")


def test_an_unknown_framework_lists_those_there_are() -> None:
    with pytest.raises(NotFoundError, match="'hipaa'.*eu-ai-act, gdpr, nca-ecc, pdpl, sama-csf"):
        load_catalogue("hipaa")
