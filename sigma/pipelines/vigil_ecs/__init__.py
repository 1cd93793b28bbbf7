"""pySigma pipeline plugin: Vigil's ECS processing pipeline for sigma-cli, so analysts convert rules exactly as
the detections engine does (`sigma convert -t lucene -p vigil_ecs rules/`, `sigma list pipelines`).

pySigma discovers pipelines in the `sigma.pipelines` namespace by the `pipelines` mapping of each plugin module;
this module only names the pipeline that `detections` builds, so the two can never differ.
"""

from detections import vigil_ecs_pipeline

pipelines = {"vigil_ecs": vigil_ecs_pipeline}
