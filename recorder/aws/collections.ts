import {
  AutoScalingClient,
  paginateDescribeAutoScalingGroups,
  paginateDescribeLaunchConfigurations,
} from "@aws-sdk/client-auto-scaling";
import {
  DescribeAddressesCommand,
  DescribeImagesCommand,
  EC2Client,
  paginateDescribeInstances,
  paginateDescribeLaunchTemplates,
  paginateDescribeNetworkInterfaces,
  paginateDescribeSecurityGroups,
  paginateDescribeSubnets,
  paginateDescribeVpcs,
} from "@aws-sdk/client-ec2";
import {
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  paginateDescribeListeners,
  paginateDescribeLoadBalancers,
  paginateDescribeTargetGroups,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import {
  IAMClient,
  paginateListAttachedRolePolicies,
  paginateListPolicies,
  paginateListRolePolicies,
  paginateListRoles,
} from "@aws-sdk/client-iam";
import { type Collection, collectStrings } from "../collection.js";
import type { Json } from "../normalise.js";
import { chunks, drain } from "./paging.js";

/**
 * AWS collections (Edda's names, camel-cased as Skald's types): one Collection per collection,
 * account and region; IAM is global and crawled once per account (region "global"). Clients use
 * the standard credential chain and `AWS_ENDPOINT_URL` unless `endpoint` is given; the SDK's
 * standard retry strategy retries throttling errors with backoff, up to `maxAttempts`.
 */
export interface AwsCrawlConfig {
  regions: readonly string[];
  account: string;
  endpoint?: string;
  maxAttempts: number;
  /** Page size asked of every paginated API (capped to each API's maximum). */
  pageSize: number;
  intervalSeconds: number;
  intervals: Readonly<Record<string, number>>;
  ignore: Readonly<Record<string, readonly string[]>>;
}

type Lister = (signal: AbortSignal) => Promise<unknown[]>;
interface Spec {
  list: Lister;
  id: string;
  ips?: string[];
  ignore?: string[];
  tagged?: boolean;
}

const str = (doc: Json, key: string): string =>
  doc && typeof doc === "object" && !Array.isArray(doc) ? String(doc[key] ?? "") : "";

const INSTANCE_IPS = [
  "PrivateIpAddress",
  "PublicIpAddress",
  "NetworkInterfaces.PrivateIpAddresses.PrivateIpAddress",
  "NetworkInterfaces.PrivateIpAddresses.Association.PublicIp",
  "NetworkInterfaces.Ipv6Addresses.Ipv6Address",
];
const ENI_IPS = [
  "PrivateIpAddress",
  "PrivateIpAddresses.PrivateIpAddress",
  "PrivateIpAddresses.Association.PublicIp",
  "Association.PublicIp",
  "Ipv6Addresses.Ipv6Address",
];

/** Collection names the AWS crawler records, in crawl order. */
export const AWS_COLLECTIONS = [
  "instances",
  "securityGroups",
  "vpcs",
  "subnets",
  "networkInterfaces",
  "addresses",
  "images",
  "loadBalancers",
  "targetGroups",
  "autoScalingGroups",
  "launchConfigurations",
  "launchTemplates",
  "iamRoles",
  "iamPolicies",
] as const;

export function createAwsCollections(cfg: AwsCrawlConfig): Collection[] {
  const base = { maxAttempts: cfg.maxAttempts, ...(cfg.endpoint ? { endpoint: cfg.endpoint } : {}) };
  const out: Collection[] = [];
  const make = (name: string, region: string, spec: Spec): Collection => ({
    name,
    account: cfg.account,
    region,
    intervalSeconds: cfg.intervals[name] ?? cfg.intervalSeconds,
    ignore: [...(spec.ignore ?? []), ...(cfg.ignore[name] ?? [])],
    tagged: spec.tagged ?? false,
    list: spec.list,
    idOf: (doc) => str(doc, spec.id),
    ipsOf: spec.ips ? (doc) => collectStrings(doc, spec.ips as string[]) : undefined,
  });
  const ps = (cap: number) => Math.max(5, Math.min(cfg.pageSize, cap));

  for (const region of cfg.regions) {
    const ec2 = new EC2Client({ ...base, region });
    const elb = new ElasticLoadBalancingV2Client({ ...base, region });
    const asg = new AutoScalingClient({ ...base, region });
    const instances: Lister = async (signal) => {
      const reservations = await drain(
        paginateDescribeInstances({ client: ec2, pageSize: ps(1000) }, {}),
        (p) => p.NextToken,
        (p) => p.Reservations,
        signal,
      );
      return reservations.flatMap((r) =>
        (r.Instances ?? []).map((i) => ({ ...i, OwnerId: r.OwnerId, ReservationId: r.ReservationId })),
      );
    };
    const specs: Record<string, Spec> = {
      instances: { list: instances, id: "InstanceId", ips: INSTANCE_IPS, tagged: true },
      securityGroups: {
        id: "GroupId",
        list: (s) =>
          drain(
            paginateDescribeSecurityGroups({ client: ec2, pageSize: ps(1000) }, {}),
            (p) => p.NextToken,
            (p) => p.SecurityGroups,
            s,
          ),
      },
      vpcs: {
        id: "VpcId",
        list: (s) =>
          drain(
            paginateDescribeVpcs({ client: ec2, pageSize: ps(1000) }, {}),
            (p) => p.NextToken,
            (p) => p.Vpcs,
            s,
          ),
      },
      subnets: {
        id: "SubnetId",
        // free addresses change with every instance started: volatile
        ignore: ["AvailableIpAddressCount"],
        list: (s) =>
          drain(
            paginateDescribeSubnets({ client: ec2, pageSize: ps(1000) }, {}),
            (p) => p.NextToken,
            (p) => p.Subnets,
            s,
          ),
      },
      networkInterfaces: {
        id: "NetworkInterfaceId",
        ips: ENI_IPS,
        list: (s) =>
          drain(
            paginateDescribeNetworkInterfaces({ client: ec2, pageSize: ps(1000) }, {}),
            (p) => p.NextToken,
            (p) => p.NetworkInterfaces,
            s,
          ),
      },
      // DescribeAddresses is not paginated: one call returns every address.
      // ips: whoHad treats an address's InstanceId/NetworkInterfaceId as the holder of its IP
      addresses: {
        id: "AllocationId",
        ips: ["PublicIp"],
        list: async (s) =>
          (await ec2.send(new DescribeAddressesCommand({}), { abortSignal: s })).Addresses ?? [],
      },
      // Images in use: the AMIs the region's instances run.
      images: {
        id: "ImageId",
        list: async (s) => {
          const ids = [...new Set((await instances(s)).map((i) => (i as { ImageId?: string }).ImageId ?? ""))]
            .filter((i) => i !== "")
            .sort();
          const out: unknown[] = [];
          for (const batch of chunks(ids, 100)) {
            const page = await ec2.send(new DescribeImagesCommand({ ImageIds: batch }), { abortSignal: s });
            out.push(...(page.Images ?? []));
          }
          return out;
        },
      },
      loadBalancers: {
        id: "LoadBalancerArn",
        list: async (s) => {
          const lbs = await drain(
            paginateDescribeLoadBalancers({ client: elb, pageSize: ps(400) }, {}),
            (p) => p.NextMarker,
            (p) => p.LoadBalancers,
            s,
          );
          const out: unknown[] = [];
          for (const lb of lbs) {
            const listeners = await drain(
              paginateDescribeListeners(
                { client: elb, pageSize: ps(400) },
                { LoadBalancerArn: lb.LoadBalancerArn },
              ),
              (p) => p.NextMarker,
              (p) => p.Listeners,
              s,
            );
            out.push({ ...lb, Listeners: listeners });
          }
          return out;
        },
      },
      targetGroups: {
        id: "TargetGroupArn",
        list: async (s) => {
          const tgs = await drain(
            paginateDescribeTargetGroups({ client: elb, pageSize: ps(400) }, {}),
            (p) => p.NextMarker,
            (p) => p.TargetGroups,
            s,
          );
          const out: unknown[] = [];
          for (const tg of tgs) {
            const health = await elb.send(
              new DescribeTargetHealthCommand({ TargetGroupArn: tg.TargetGroupArn }),
              {
                abortSignal: s,
              },
            );
            const targets = [...(health.TargetHealthDescriptions ?? [])].sort((a, b) =>
              `${a.Target?.Id}:${a.Target?.Port}`.localeCompare(`${b.Target?.Id}:${b.Target?.Port}`),
            );
            out.push({ ...tg, Targets: targets });
          }
          return out;
        },
      },
      autoScalingGroups: {
        id: "AutoScalingGroupName",
        tagged: false,
        list: async (s) => {
          const groups = await drain(
            paginateDescribeAutoScalingGroups({ client: asg, pageSize: ps(100) }, {}),
            (p) => p.NextToken,
            (p) => p.AutoScalingGroups,
            s,
          );
          // membership order is not meaningful
          return groups.map((g) => ({
            ...g,
            Instances: [...(g.Instances ?? [])].sort((a, b) =>
              String(a.InstanceId).localeCompare(String(b.InstanceId)),
            ),
          }));
        },
      },
      launchConfigurations: {
        id: "LaunchConfigurationName",
        list: (s) =>
          drain(
            paginateDescribeLaunchConfigurations({ client: asg, pageSize: ps(100) }, {}),
            (p) => p.NextToken,
            (p) => p.LaunchConfigurations,
            s,
          ),
      },
      launchTemplates: {
        id: "LaunchTemplateId",
        list: (s) =>
          drain(
            paginateDescribeLaunchTemplates({ client: ec2, pageSize: ps(200) }, {}),
            (p) => p.NextToken,
            (p) => p.LaunchTemplates,
            s,
          ),
      },
    };
    for (const [name, spec] of Object.entries(specs)) out.push(make(name, region, spec));
  }

  if (cfg.regions.length > 0) {
    const iam = new IAMClient({ ...base, region: cfg.regions[0] });
    out.push(
      make("iamRoles", "global", {
        id: "RoleName",
        // last-used information changes whenever the role is used
        ignore: ["RoleLastUsed"],
        list: async (s) => {
          const roles = await drain(
            paginateListRoles({ client: iam, pageSize: ps(1000) }, {}),
            (p) => p.Marker,
            (p) => p.Roles,
            s,
          );
          const out: unknown[] = [];
          for (const role of roles) {
            const attached = await drain(
              paginateListAttachedRolePolicies(
                { client: iam, pageSize: ps(1000) },
                { RoleName: role.RoleName },
              ),
              (p) => p.Marker,
              (p) => p.AttachedPolicies,
              s,
            );
            const inline = await drain(
              paginateListRolePolicies({ client: iam, pageSize: ps(1000) }, { RoleName: role.RoleName }),
              (p) => p.Marker,
              (p) => p.PolicyNames,
              s,
            );
            out.push({ ...role, AttachedPolicies: attached, InlinePolicyNames: [...inline].sort() });
          }
          return out;
        },
      }),
      make("iamPolicies", "global", {
        id: "Arn",
        ignore: ["AttachmentCount", "UpdateDate"],
        list: (s) =>
          drain(
            paginateListPolicies({ client: iam, pageSize: ps(1000) }, { Scope: "Local" }),
            (p) => p.Marker,
            (p) => p.Policies,
            s,
          ),
      }),
    );
  }
  return out;
}
