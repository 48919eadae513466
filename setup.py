from glob import glob

from setuptools import find_packages, setup

PACKAGE = "data_manager_ros"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test", "test.*", "bench"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE}/config",
         sorted(glob("config/*.yaml") + glob("config/*.json") + glob("config/*.xml"))),
        # `ros2 run` looks in <prefix>/lib/<package>/; colcon puts the console
        # scripts there (setup.cfg), a pip install needs these launchers.
        (f"lib/{PACKAGE}", glob(f"resource/lib/{PACKAGE}/*")),
    ],
    install_requires=["mcap>=1.6", "PyYAML", "requests", "zstandard", "lz4", "isal", "blake3"],
    # colcon runs pytest (not unittest) because "test" names it; rosbags is a reader for
    # the tests only (nothing at run time imports it)
    # fleet: data_manager_fleet's credentials (robots, operators) live in PostgreSQL
    extras_require={"fleet": ["psycopg[binary]>=3.2"],
                    "test": ["pytest>=8,<9", "rosbags>=0.10", "psutil", "moto[server]>=5",
                             "proxy.py", "psycopg[binary]>=3.2"]},
    zip_safe=True,
    maintainer="data_manager_ros developers",
    maintainer_email="dev@data-manager-ros.invalid",
    description="Capture ROS 2 topics into rosbag2 MCAP bags and sync them with tus.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "data_manager = data_manager_ros.node.main:main",
            "data_manager_demo_sensors = data_manager_ros.tools.demo_sensors:main",
            "data_manager_sync = data_manager_ros.tools.sync_cli:main",
            "data_manager_status = data_manager_ros.tools.status:main",
            "data_manager_play_check = data_manager_ros.tools.play_check:main",
            "data_manager_fleet = data_manager_ros.tools.fleet:main",
        ],
    },
)
