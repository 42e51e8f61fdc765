// UI strings: zh-CN first, English available. The choice is kept in localStorage.
window.ZD_I18N = {
  zh: {
    brand: "众队", tagline: "群众点单，志愿者接单：就近派单给有资质的志愿者，全程留痕闭环。",
    "role.resident": "居民", "role.resident.desc": "发布求助，实时查看谁在赶来，完成后评价。",
    "role.volunteer": "志愿者", "role.volunteer.desc": "上岗接单、抢单、到场签到、完成任务、积分。",
    "role.coordinator": "协调员", "role.coordinator.desc": "管理 122 支队伍、派单、处理无人接单、统计。",
    "login.title": "登录", "login.phone": "手机号", "login.password": "密码", "login.submit": "登录",
    "me.title": "我的账户", "me.name": "姓名", "me.role": "角色", "me.team": "队伍", "me.logout": "退出登录",
    docs: "接口文档 (API)", switchTo: "EN",
    roles: { resident: "居民", volunteer: "志愿者", coordinator: "协调员", admin: "管理员" },
    errors: { required: "请填写此项", network: "网络异常，请稍后重试", login: "手机号或密码错误", rate: "尝试次数过多，请稍后再试" },
  },
  en: {
    brand: "Zhongdui", tagline: "Residents ask, volunteers answer: each request goes to the nearest qualified volunteers, audited end to end.",
    "role.resident": "Residents", "role.resident.desc": "post a request, see who is coming, confirm and rate.",
    "role.volunteer": "Volunteers", "role.volunteer.desc": "go on duty, accept or grab tasks, check in, complete, earn points.",
    "role.coordinator": "Coordinators", "role.coordinator.desc": "manage 122 teams, dispatch, handle escalations, statistics.",
    "login.title": "Log in", "login.phone": "Mobile number", "login.password": "Password", "login.submit": "Log in",
    "me.title": "My account", "me.name": "Name", "me.role": "Role", "me.team": "Team", "me.logout": "Log out",
    docs: "API documentation", switchTo: "中文",
    roles: { resident: "Resident", volunteer: "Volunteer", coordinator: "Coordinator", admin: "Admin" },
    errors: { required: "Please fill this in", network: "Network problem, please retry", login: "Wrong mobile number or password", rate: "Too many attempts, try again later" },
  },
};
