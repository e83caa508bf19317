# Sphinx configuration of the documentation site that `make docs` builds from the RST that
# antsibull-docs writes for the collection (modules, action plugins, filters and the role).
# The build is offline: no intersphinx inventories are fetched.

project = "cloudsec.image_scan"
copyright = "cloudsec.image_scan contributors"  # pylint: disable=redefined-builtin
title = "cloudsec.image_scan documentation"
html_short_title = "cloudsec.image_scan"

extensions = ["sphinx_antsibull_ext"]

pygments_style = "ansible"
highlight_language = "YAML+Jinja"

html_theme = "sphinx_ansible_theme"
html_show_sphinx = False
html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False

default_role = "any"
nitpicky = True

# The generated pages refer to pages of the Ansible documentation (common return values, action
# plugins, configuration settings, ansible.builtin plugins). Offline there is no inventory to
# resolve them with: they become links to the Ansible docsite. Any other unresolved reference
# still fails the build (-W, nitpicky).
ANSIBLE_DOCS = "https://docs.ansible.com/projects/ansible/latest/"
ANSIBLE_LABELS = {
    "common_return_values": "reference_appendices/common_return_values.html",
    "action_plugins": "plugins/action.html",
    "ansible_configuration_settings": "reference_appendices/config.html",
}
ANSIBLE_LABEL_TITLES = {"ansible_configuration_settings": "Ansible Configuration Settings"}
BUILTIN_PREFIX = "ansible_collections.ansible.builtin."


def _ansible_docs_reference(app, env, node, contnode):  # pylint: disable=unused-argument
    from docutils import nodes

    target = node.get("reftarget", "")
    if node.get("reftype") != "ref":
        return None
    if target in ANSIBLE_LABELS:
        url = ANSIBLE_DOCS + ANSIBLE_LABELS[target]
    elif target.startswith(BUILTIN_PREFIX):
        url = ANSIBLE_DOCS + "collections/ansible/builtin/" + target[len(BUILTIN_PREFIX):] + ".html"
    else:
        return None
    reference = nodes.reference("", "", internal=False, refuri=url)
    if not node.get("refexplicit") and target in ANSIBLE_LABEL_TITLES:
        reference.append(nodes.inline(text=ANSIBLE_LABEL_TITLES[target]))
    else:
        reference.append(contnode)
    return reference


def setup(app):
    app.connect("missing-reference", _ansible_docs_reference)
