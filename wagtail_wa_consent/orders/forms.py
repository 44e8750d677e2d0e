"""The rule editor's form: only APPROVED UTILITY templates, parameters from a fixed vocabulary."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm

from ..messaging.models import MessageTemplate, TemplateCategory
from .models import NotificationRule, Parameter

#: How many parameter slots the editor offers ({{1}} .. {{MAX_PARAMETERS}}).
MAX_PARAMETERS = 6
SEPARATOR = "|"


class TemplateChoiceField(forms.ChoiceField):
    """Offers the usable templates; any submitted value reaches ``clean_template``, which says
    precisely why a template cannot be used (a bare "not a valid choice" would not)."""

    def validate(self, value: Any) -> None:
        forms.Field.validate(self, value)


def template_value(name: str, language: str) -> str:
    return f"{name}{SEPARATOR}{language}"


def template_choices(current: MessageTemplate | None = None) -> list[tuple[str, str]]:
    rows = MessageTemplate.objects.filter(status="APPROVED", category=TemplateCategory.UTILITY).order_by(
        "name", "language"
    )
    choices = [("", "---------")]
    choices += [
        (template_value(t.name, t.language), f"{t.name} ({t.language}, {t.parameter_count})") for t in rows
    ]
    if current is not None and current.status != "APPROVED":
        label = f"{current.name} ({current.language}) - {current.status}"
        choices.append((template_value(current.name, current.language), label))
    return choices


def template_warning(template: MessageTemplate | None) -> str:
    if template is not None and template.status == "PAUSED":
        return str(
            _(
                "Warning: Meta has paused this template. Its messages are not sent (they are denied "
                "with the reason 'template_paused') until Meta re-approves it or you choose another."
            )
        )
    return ""


def _parameter_label(index: int) -> str:
    return str(_("Parameter {{%(n)s}}")) % {"n": index}


def parameter_field(index: int) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=lazy(_parameter_label, str)(index),
        choices=[("", "---------"), *Parameter.choices],
        required=False,
    )


class NotificationRuleForm(WagtailAdminModelForm):
    template = TemplateChoiceField(
        label=_("Template"),
        help_text=_("Approved UTILITY templates of the WhatsApp Business Account (sync them first)."),
    )
    parameter_1 = parameter_field(1)
    parameter_2 = parameter_field(2)
    parameter_3 = parameter_field(3)
    parameter_4 = parameter_field(4)
    parameter_5 = parameter_field(5)
    parameter_6 = parameter_field(6)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        instance: NotificationRule = self.instance
        current = None
        if instance.template_name:
            current = MessageTemplate.objects.filter(
                name=instance.template_name, language=instance.language
            ).first()
            self.initial.setdefault("template", template_value(instance.template_name, instance.language))
        self.fields["template"].choices = template_choices(current)
        self.warning = template_warning(current)
        if self.warning:
            self.fields["template"].help_text = self.warning
        for index, key in enumerate(instance.parameters or [], start=1):
            if index <= MAX_PARAMETERS:
                self.initial.setdefault(f"parameter_{index}", key)

    def clean_template(self) -> MessageTemplate:
        value = self.cleaned_data.get("template") or ""
        name, _sep, language = value.partition(SEPARATOR)
        template = MessageTemplate.objects.filter(name=name, language=language).first()
        if template is None:
            raise forms.ValidationError(
                _("Unknown template. Sync the templates, then choose one of the list.")
            )
        if template.category != TemplateCategory.UTILITY:
            raise forms.ValidationError(
                _("'%(name)s' is a %(category)s template; order notifications need a UTILITY template.")
                % {"name": name, "category": template.category}
            )
        unchanged_pause = (
            template.status == "PAUSED"
            and name == self.instance.template_name
            and language == self.instance.language
            and self.instance.pk is not None
        )
        if template.status != "APPROVED" and not unchanged_pause:
            raise forms.ValidationError(
                _("'%(name)s' is %(status)s; only APPROVED templates can be chosen.")
                % {"name": name, "status": template.status}
            )
        self.warning = template_warning(template)
        return template

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        parameters = [cleaned.get(f"parameter_{i}") or "" for i in range(1, MAX_PARAMETERS + 1)]
        while parameters and not parameters[-1]:
            parameters.pop()
        if "" in parameters:
            self.add_error(
                f"parameter_{parameters.index('') + 1}", _("Fill in the parameters in order, without gaps.")
            )
        template = cleaned.get("template")
        if isinstance(template, MessageTemplate):
            if template.parameter_count != len(parameters):
                self.add_error(
                    None,
                    _("The template '%(name)s' has %(expected)s parameters; %(given)s are mapped.")
                    % {"name": template.name, "expected": template.parameter_count, "given": len(parameters)},
                )
            self.instance.template_name = template.name
            self.instance.language = template.language
        self.instance.parameters = parameters
        return cleaned

    class Meta:
        model = NotificationRule
        fields = ["event", "match", "tracking_url", "enabled"]
