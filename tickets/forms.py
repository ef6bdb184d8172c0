"""Forms of the customer portal's ticket pages: they parse and explain; the services decide."""

from collections.abc import Iterator, Sequence
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from contracts.sla_names import Priority
from tickets.models import Ticket
from tickets.rules import TicketError, attachments_check
from tickets.selectors import PRIORITY_MEANINGS, ContractTerms, PriorityTerms


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Any number of files (the limits are the service's: `attachments_check`)."""

    widget = MultipleFileInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        # Empty files are refused by `attachments_check`, which names the file.
        kwargs.setdefault("allow_empty_file", True)
        super().__init__(**kwargs)
        self.describe_limits()

    def describe_limits(self) -> None:
        """Say the limits of the settings in force in the help text and the `accept` list
        (forms call it again per instance: their fields are copies made at import time)."""
        extensions = sorted({ext.lower().lstrip(".") for ext in settings.ATTACHMENT_EXTENSIONS})
        self.help_text = _("Up to %(files)d files, %(size)s each. Accepted types: %(types)s.") % {
            "files": settings.ATTACHMENT_MAX_FILES,
            "size": filesizeformat(settings.ATTACHMENT_MAX_BYTES),
            "types": ", ".join(extensions),
        }
        self.widget.attrs["accept"] = ",".join(f".{ext}" for ext in extensions)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single = super().clean
        if isinstance(data, list | tuple):
            files = [single(item, initial) for item in data if item]
        else:
            files = [single(data, initial)] if data else []
        try:
            attachments_check(files)
        except TicketError as exc:
            raise forms.ValidationError(str(exc), code="attachment") from exc
        return files


def attachments_of(form: forms.Form) -> Sequence[UploadedFile]:
    return form.cleaned_data.get("attachments") or []


class PriorityOption:
    """One priority choice with what it means and what the contract promises for it."""

    def __init__(self, radio: Any, meaning: str, terms: PriorityTerms | None) -> None:
        self.radio = radio
        self.meaning = meaning
        self.terms = terms


class PriorityField(forms.ChoiceField):
    """Offers the priorities the contract covers; any other priority gets the contract's own
    refusal (`clean_priority`), not a generic "not a valid choice"."""

    def valid_value(self, value: Any) -> bool:
        return value in Priority.values


class TicketCreateForm(forms.Form):
    subject = forms.CharField(
        max_length=200,
        error_messages={"required": "Please write a subject."},
        help_text="One line that says what is wrong, e.g. “Live stream drops after 10 minutes”.",
    )
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        error_messages={"required": "Please describe the problem."},
        help_text="What happens, since when, who is affected, and what you already tried.",
    )
    priority = PriorityField(widget=forms.RadioSelect)
    product_area = forms.ChoiceField(label="Product area", choices=Ticket.ProductArea.choices)
    attachments = AttachmentsField()

    def __init__(self, *args: Any, terms: ContractTerms | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["attachments"].describe_limits()
        self.terms = terms
        field = self.fields["priority"]
        if terms is not None:
            field.choices = [(p.priority, p.label) for p in terms.priorities]
            field.help_text = (
                f"Your {terms.tier_name} contract covers these priorities; targets are in "
                f"business time ({terms.coverage.lower()})."
            )
        else:
            field.choices = Priority.choices
            field.help_text = (
                "Your organisation has no active support contract, so this ticket will have "
                "no SLA deadlines."
            )
        if not self.is_bound:
            values = [value for value, _ in field.choices]
            self.initial.setdefault("priority", Priority.P3 if Priority.P3 in values else values[0])
            self.initial.setdefault("product_area", Ticket.ProductArea.OTHER)

    def priority_options(self) -> Iterator[PriorityOption]:
        for radio in self["priority"]:
            value = radio.data["value"]
            yield PriorityOption(
                radio,
                PRIORITY_MEANINGS.get(value, ""),
                self.terms.for_priority(value) if self.terms else None,
            )

    def clean_priority(self) -> str:
        priority = self.cleaned_data["priority"]
        refusal = self.terms.refusal(priority) if self.terms is not None else None
        if refusal:
            raise forms.ValidationError(refusal, code="not_covered")
        return priority

    def clean_subject(self) -> str:
        subject = " ".join(self.cleaned_data["subject"].split())
        if not subject:
            raise forms.ValidationError("Please write a subject.", code="required")
        return subject

    def clean_description(self) -> str:
        description = self.cleaned_data["description"]
        if not description.strip():
            raise forms.ValidationError("Please describe the problem.", code="required")
        return description


class ReplyForm(forms.Form):
    body = forms.CharField(
        label="Your reply",
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": "Please write a reply."},
    )
    attachments = AttachmentsField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["attachments"].describe_limits()

    def clean_body(self) -> str:
        body = self.cleaned_data["body"]
        if not body.strip():
            raise forms.ValidationError("Please write a reply.", code="required")
        return body


class StatusForm(forms.Form):
    """The customer's two status actions: mark as resolved, or reopen."""

    status = forms.ChoiceField(
        choices=[(Ticket.Status.RESOLVED, "Resolved"), (Ticket.Status.OPEN, "Open")]
    )


class TicketFilterForm(forms.Form):
    """The list's filters; anything unknown is ignored rather than refused."""

    q = forms.CharField(
        label="Search", required=False, max_length=200, help_text="Reference or subject."
    )
    status = forms.ChoiceField(
        required=False,
        choices=[("", "Any status"), ("active", "Not yet resolved"), *Ticket.Status.choices],
    )
    priority = forms.ChoiceField(required=False, choices=[("", "Any priority"), *Priority.choices])

    def filters(self) -> dict[str, str]:
        """The valid filters (an invalid one is dropped, the others still apply)."""
        self.is_valid()
        data = self.cleaned_data
        return {
            "status": data.get("status", ""),
            "priority": data.get("priority", ""),
            "search": data.get("q", ""),
        }
